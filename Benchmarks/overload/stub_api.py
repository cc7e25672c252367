"""A stand-in for api.github.com: accepts hook registrations and deletions (loopback only)."""
import http.server
import json
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def _answer(self, status, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer(201, {"id": 42, "active": True})

    def do_DELETE(self):
        self._answer(204)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
