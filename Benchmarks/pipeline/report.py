"""Prints the rows of results.json as markdown tables, each Inlet row with its baseline's ratio."""
import json
import sys

rows = {row["name"]: row for row in json.load(open(sys.argv[1]))}
cores = sys.argv[2] if len(sys.argv) > 2 else "2"


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "—"


if "inlet ingress" in rows:
    print(f"\n### Ingress alone ({cores} cores, wrk -t1 -c32 -d8s, {int(rows['inlet ingress']['body'])} B body)\n")
    print("| server | 2xx/s | 503/s | p50 / p99 ms | 2xx/s ratio to bare |")
    print("| --- | --- | --- | --- | --- |")
    bare = rows.get("bare Hummingbird", {})
    for name in ("inlet ingress", "bare Hummingbird"):
        r = rows.get(name)
        if not r: continue
        ok, busy = r["ok"] / r["seconds"], r["busy"] / r["seconds"]
        base = bare.get("ok", 0) / bare["seconds"] if bare else 0
        print(f"| {name} | {ok:,.0f} | {busy:,.0f} | {r['p50_ms']} / {r['p99_ms']} | {ratio(ok, base)} |")

names = [n for n in ("inlet dev", "inlet roles (4 processes)", "Python relay") if n in rows]
if names:
    first = rows[names[0]]
    print(f"\n### Whole pipeline ({cores} cores, {int(first['subscriptions'])} subscriptions, {int(first['body'])} B deliveries, wrk -t1 -c64 -d3s)\n")
    print("| pipeline | accepted/s | 503 | events | drained in | events/s | p50 / p99 ms | events/s ratio to relay |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    relay = rows.get("Python relay", {}).get("events_per_s")
    for name in names:
        r = rows[name]
        print(f"| {name} | {r['accepted_per_s']:,.0f} | {int(r['busy']):,} | {int(r['events']):,} of {int(r['ok']):,} | {r['drained_s']} s | {r['events_per_s']:,.0f} | {r['p50_ms']} / {r['p99_ms']} | {ratio(r['events_per_s'], relay)} |")
    bare = rows.get("bare Hummingbird (pipeline load)")
    if bare and relay:
        answered = bare["ok"] / bare["seconds"]
        print(f"\nBare Hummingbird answering the same requests with 200 (nothing stored or checked): {answered:,.0f} req/s"
              f" (p50 / p99 {bare['p50_ms']} / {bare['p99_ms']} ms), {answered / relay:.2f}x the relay's events/s: no server takes more here.")
