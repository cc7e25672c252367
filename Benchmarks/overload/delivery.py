"""Writes a signed ~13.5 KB GitHub `issues` delivery and a wrk script that posts it."""
import hashlib
import hmac
import json
import sys

secret, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
issue = {
    "action": "opened",
    "issue": {
        "number": 1347, "title": "Found a bug", "state": "open",
        "html_url": "https://github.com/octo/hello/issues/1347",
        "user": {"login": "octocat", "id": 1, "type": "User"},
        "labels": [{"name": "bug", "color": "f29513"}], "assignees": [],
        "created_at": "2026-11-25T10:00:00Z", "updated_at": "2026-11-25T10:00:00Z",
        "body": "I'm having a problem with this. " * 400,
    },
    "repository": {"full_name": "octo/hello", "id": 1296269},
    "sender": {"login": "octocat", "id": 1},
}
body = json.dumps(issue, separators=(",", ":"))
signature = "sha256=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
lua = f"""
wrk.method = "POST"
wrk.path = {json.dumps(path)}
wrk.body = {json.dumps(body)}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-GitHub-Event"] = "issues"
wrk.headers["X-Hub-Signature-256"] = "{signature}"
local threads = {{}}
setup = function(thread) table.insert(threads, thread) end
init = function(args) ok = 0; busy = 0; other = 0 end
response = function(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 elseif status == 503 then busy = busy + 1 else other = other + 1 end
end
done = function(summary, latency, requests)
  local o, b, x = 0, 0, 0
  for _, thread in ipairs(threads) do o = o + thread:get("ok"); b = b + thread:get("busy"); x = x + thread:get("other") end
  io.write(string.format("status_ok %d\\nstatus_503 %d\\nstatus_other %d\\n", o, b, x))
  io.write(string.format("latency_p50_ms %.2f\\nlatency_p99_ms %.2f\\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""
open(out, "w").write(lua)
print(len(body))
