"""Writes a wrk script posting signed GitHub `issues` deliveries round-robin over many webhook URLs.

    deliveries.py SUBSCRIPTIONS.json OUT.lua [body-bytes]

SUBSCRIPTIONS.json maps webhook path to its signing secret: {"/webhooks/<token>": "<secret>", ...}.
Each wrk connection cycles through the subscriptions; every request carries a distinct delivery
id and issue number, so no two requests are repeats. The wrk script prints the answers by status
and the latency percentiles. Prints the body size.
"""
import hashlib
import hmac
import json
import sys

subscriptions = json.load(open(sys.argv[1]))
out = sys.argv[2]
target = int(sys.argv[3]) if len(sys.argv) > 3 else 480
requests = []
for n in range(200):
    for path, secret in sorted(subscriptions.items()):
        issue = {
            "action": "opened" if n % 3 == 0 else "edited",
            "issue": {
                "number": 1000 + n, "title": "Found a bug", "state": "open",
                "html_url": f"https://github.com/octo/hello/issues/{1000 + n}",
                "user": {"login": "octocat"}, "labels": [{"name": "bug"}], "assignees": [],
                "created_at": "2026-11-25T10:00:00Z", "updated_at": "2026-11-25T10:00:00Z", "body": "",
            },
            "repository": {"full_name": "octo/hello"},
        }
        body = json.dumps(issue, separators=(",", ":"))
        issue["issue"]["body"] = "x" * max(0, target - len(body))
        body = json.dumps(issue, separators=(",", ":"))
        signature = "sha256=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
        requests.append((path, body, signature))

entries = ",\n".join(
    "{%s, %s, %s}" % (json.dumps(p), json.dumps(b), json.dumps(s)) for p, b, s in requests
)
lua = f"""
local requests = {{
{entries}
}}
init = function(args) i = math.random(#requests); n = 0 end
request = function()
  i = i % #requests + 1
  n = n + 1
  local r = requests[i]
  return wrk.format("POST", r[1], {{
    ["Content-Type"] = "application/json", ["X-GitHub-Event"] = "issues",
    ["X-GitHub-Delivery"] = string.format("%d-%d-%d", math.random(1e9), n, i),
    ["X-Hub-Signature-256"] = r[3]}}, r[2])
end
"""
open(out, "w").write(lua + open(__file__.rsplit("/", 2)[0] + "/wrk_counts.lua").read())
print(len(requests[0][1]))
