# SPDX-License-Identifier: MIT
"""A webhook receiver for clover's integration tests.

    python3 webhook_sink.py PORTFILE DIR

Listens on a free loopback port (written to PORTFILE once listening). Each
POST is answered 200 and written to DIR as NNNNNN.json: {"path", "headers",
"body"} (the body as text), by rename, so a reader sees complete files
only. A POST to a path containing "fail" is answered 500 and not recorded.
"""
import http.server
import itertools
import json
import os
import sys

PORTFILE, DIR = sys.argv[1], sys.argv[2]
COUNTER = itertools.count(1)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace")
        if "fail" in self.path:
            self.send_response(500)
            self.end_headers()
            return
        rec = {"path": self.path, "headers": dict(self.headers), "body": body}
        name = os.path.join(DIR, "%06d.json" % next(COUNTER))
        with open(name + ".tmp", "w") as f:
            json.dump(rec, f)
        os.rename(name + ".tmp", name)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
