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
"""
open(out, "w").write(lua + open(__file__.rsplit("/", 2)[0] + "/wrk_counts.lua").read())
print(len(body))
