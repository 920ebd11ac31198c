#!/usr/bin/env python3
"""A stand-in Lava REST node for the lava source tests.

Serves GET /lavanet/lava/protocol/params on 127.0.0.1 (a free port, written to --port-file).
Each request re-reads --control, a JSON object the test rewrites (by rename) at will:
  {"status": 200, "body": "<reply text>", "mode": "normal"}
  mode "hang": never answer; "huge": a 50 MB body with Content-Length; "huge-stream": a 50 MB
  body without Content-Length (ends when the connection closes).
Every request is appended to --log as "<METHOD> <path>".
"""
import argparse
import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HUGE = 50 * 1024 * 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *unused):
            pass

        def do_GET(self):
            with open(args.log, "a") as log:
                log.write(f"GET {self.path}\n")
            with open(args.control) as control_file:
                control = json.load(control_file)
            mode = control.get("mode", "normal")
            if mode == "hang":
                time.sleep(3600)
                return
            try:
                if mode in ("huge", "huge-stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    if mode == "huge":
                        self.send_header("Content-Length", str(HUGE))
                    self.end_headers()
                    chunk = b" " * (1024 * 1024)
                    for _ in range(HUGE // len(chunk)):
                        self.wfile.write(chunk)
                    return
                body = control.get("body", "").encode()
                self.send_response(control.get("status", 200))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as it should for a huge body

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    temporary = args.port_file + ".tmp"
    with open(temporary, "w") as port_file:
        port_file.write(str(server.server_address[1]))
    os.rename(temporary, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
