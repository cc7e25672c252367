"""The short Python relay a user would write instead of Inlet: the benchmark's peer.

POST /webhooks/{token} checks GitHub's X-Hub-Signature-256, maps an `issues` delivery to the
same CloudEvents 1.0 event as Inlet's github connector (connectors/github/events/issues), and
produces it to Kafka keyed by subscription id with the ce_* headers, answering 200 only once
the broker acknowledged it (503 when delivery failed). GET /health answers 200.

Tuned as the libraries' docs recommend: N worker processes share the port (SO_REUSEPORT), each
an aiohttp app on uvloop (when installed) with access logging off, and one confluent-kafka
Producer polled from a background thread whose delivery callback resolves an asyncio future
(the pattern of confluent-kafka-python's examples/asyncio_example.py). Producer: acks=all,
idempotence on, linger.ms=0.5, no compression, librdkafka defaults otherwise.

The benchmark runs it on the same broker and delivery as Inlet and compares req/s and latency:
  relay.py --bootstrap HOST:PORT --topic TOPIC --port PORT --subscriptions subs.json [--workers 2]
subs.json: {"<token>": {"id": "sub_1", "secret": "...", "customerId": "acme", "connectorKey": "github"}}
"""
import argparse, asyncio, hashlib, hmac, json, multiprocessing, signal, threading, uuid
from datetime import datetime, timezone

from aiohttp import web
from confluent_kafka import KafkaException, Producer

TYPES = {"opened": "created", "deleted": "deleted", "transferred": "deleted"}


def to_event(token, sub, headers, data):
    issue, action = data["issue"], data.get("action")
    kind = TYPES.get(action, "updated")
    record = {"id": str(issue["number"]), "name": issue.get("title"),
              "createdTime": issue.get("created_at"), "updatedTime": issue.get("updated_at"),
              "fields": {"number": issue["number"], "title": issue.get("title"), "body": issue.get("body"),
                         "state": issue.get("state"), "url": issue.get("html_url"),
                         "author": (issue.get("user") or {}).get("login"),
                         "labels": [label["name"] for label in issue.get("labels") or []],
                         "assignees": [user["login"] for user in issue.get("assignees") or []],
                         "action": action}}
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if kind == "deleted":
        record["deletedTime"] = issue.get("updated_at") or now
    delivery = headers.get("X-GitHub-Delivery") or str(uuid.uuid4())
    return {"specversion": "1.0", "id": hashlib.sha256(f"{token}\x1f{delivery}".encode()).hexdigest()[:32],
            "source": f"/inlet/connectors/github/subscriptions/{sub['id']}", "type": f"github.issues.{kind}",
            "subject": record["id"], "time": now, "datacontenttype": "application/json",
            "data": {"type": kind, "record": record, "recordId": record["id"], "subscriptionId": sub["id"],
                     "customerId": sub["customerId"], "connectorKey": "github", "eventKey": "issues"}}


async def webhook(request):
    app = request.app
    sub = app["subs"].get(request.match_info["token"])
    if sub is None:
        return web.json_response({"error": "unknown webhook"}, status=404)
    body = await request.read()
    expected = "sha256=" + hmac.new(sub["secret"].encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(request.headers.get("X-Hub-Signature-256", "").encode(), expected.encode()):
        return web.json_response({"error": "bad signature"}, status=401)
    try:
        data = json.loads(body)
    except ValueError:
        return web.json_response({"error": "body is not JSON"}, status=400)
    if request.headers.get("X-GitHub-Event") == "issues" and isinstance(data, dict) and data.get("issue"):
        event = to_event(request.match_info["token"], sub, request.headers, data)
        ce = [(f"ce_{k}", event[k].encode()) for k in ("specversion", "id", "source", "type", "subject", "time")]
        ce.append(("content-type", b"application/cloudevents+json; charset=UTF-8"))
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        ack = lambda err, _msg: loop.call_soon_threadsafe(settle, done, err)  # runs on the poll thread
        try:
            app["producer"].produce(app["topic"], json.dumps(event, separators=(",", ":")).encode(),
                                    sub["id"].encode(), headers=ce, on_delivery=ack)
            await done
        except (KafkaException, BufferError) as error:
            return web.json_response({"error": str(error)}, status=503)
    return web.json_response({"accepted": True})


def settle(future, err):
    if not future.done():
        future.set_exception(KafkaException(err)) if err else future.set_result(None)


async def health(_request):
    return web.json_response({"status": "ok"})


async def kafka(app):  # cleanup context: one producer and poll thread per worker process
    producer = app["producer"] = Producer({
        "bootstrap.servers": app["bootstrap"], "acks": "all", "enable.idempotence": True,
        "linger.ms": 0.5, "compression.type": "none"})
    stop = threading.Event()

    def poll_loop():  # serves delivery callbacks, as in confluent-kafka's asyncio example
        while not stop.is_set():
            producer.poll(0.1)
    poller = threading.Thread(target=poll_loop, daemon=True)
    poller.start()
    yield
    await asyncio.get_running_loop().run_in_executor(None, producer.flush, 10)
    stop.set()
    poller.join()


def serve(args, subs):
    app = web.Application()
    app.update(subs=subs, topic=args.topic, bootstrap=args.bootstrap)
    app.cleanup_ctx.append(kafka)
    app.router.add_post("/webhooks/{token}", webhook)
    app.router.add_get("/health", health)
    try:
        import uvloop
        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    web.run_app(app, host=args.host, port=args.port, reuse_port=True, access_log=None, print=None, loop=loop)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag in ("--bootstrap", "--topic", "--subscriptions"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with open(args.subscriptions) as file:
        subscriptions = json.load(file)
    workers = [multiprocessing.Process(target=serve, args=(args, subscriptions)) for _ in range(args.workers)]
    for worker in workers:
        worker.start()
    for sig in (signal.SIGTERM, signal.SIGINT):  # stopping the parent stops the workers (they flush)
        signal.signal(sig, lambda *_: [worker.terminate() for worker in workers])
    for worker in workers:
        worker.join()
