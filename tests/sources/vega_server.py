#!/usr/bin/env python3
"""A stand-in Vega admin socket for the vega source tests.

Listens on the unix socket --socket and answers JSON-RPC 1.0 POSTs to --path the way a Vega
node's admin server does. It checks what a real node needs: POST, the path, Content-Type
application/json, method protocolupgrade.UpgradeStatus, params [null] and an integer id; any
deviation is answered 400 and logged as "BAD <why>". Each request re-reads --control:
  {"result": {...} | null, "error": null | "text" | {...}, "id_offset": 0, "mode": "normal"}
  mode "hang": never answer; "garbage": reply with text that is not JSON.
Every good request is appended to --log as "POST <path> id=<id>".
"""
import argparse
import json
import os
import socketserver
import time
from http.server import BaseHTTPRequestHandler


class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    parser.add_argument("--path", default="/rpc")
    parser.add_argument("--control", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()

    def log(line):
        with open(args.log, "a") as log_file:
            log_file.write(line + "\n")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *unused):
            pass

        def address_string(self):
            return "unix"

        def reply(self, status, body, content_type="application/json"):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            log("BAD method GET")
            self.reply(405, "method not allowed", "text/plain")

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            problems = []
            if self.path != args.path:
                problems.append(f"path {self.path}")
            if self.headers.get("Content-Type") != "application/json":
                problems.append(f"content-type {self.headers.get('Content-Type')}")
            request_id = None
            try:
                request = json.loads(raw)
                if request.get("method") != "protocolupgrade.UpgradeStatus":
                    problems.append(f"method {request.get('method')}")
                if request.get("params") != [None]:
                    problems.append(f"params {request.get('params')}")
                request_id = request.get("id")
                if type(request_id) is not int:
                    problems.append(f"id {request_id!r}")
                if set(request) != {"method", "params", "id"}:
                    problems.append(f"keys {sorted(request)}")
            except ValueError:
                problems.append(f"body not JSON: {raw[:80]!r}")
            if problems:
                log("BAD " + "; ".join(problems))
                self.reply(404 if self.path != args.path else 400, "; ".join(problems), "text/plain")
                return
            log(f"POST {self.path} id={request_id}")
            with open(args.control) as control_file:
                control = json.load(control_file)
            mode = control.get("mode", "normal")
            if mode == "hang":
                time.sleep(3600)
                return
            if mode == "garbage":
                self.reply(200, "<html>not json</html>", "text/html")
                return
            answer = {"result": control.get("result"), "error": control.get("error"),
                      "id": request_id + control.get("id_offset", 0)}
            self.reply(200, json.dumps(answer))

    if os.path.exists(args.socket):
        os.unlink(args.socket)
    temporary = args.socket + ".tmp"
    if os.path.exists(temporary):
        os.unlink(temporary)
    server = UnixHTTPServer(temporary, Handler)
    os.rename(temporary, args.socket)  # the socket appears only once it listens
    server.serve_forever()


if __name__ == "__main__":
    main()
