#!/usr/bin/env python3
"""A simulated Lava chain's REST (LCD) endpoint for tests and the demo.

    lava_chain.py --params FILE [--port N] [--log FILE]

Answers GET /lavanet/lava/protocol/params with the current content of FILE (so a test
changes the chain's versions by rewriting FILE), and 404 otherwise. A FILE whose first line
is "STATUS <code>" answers that status with the rest as body; "STALL" never answers (and
--log records {"stalled": true} when a request starts to hang).
Prints "PORT <n>" as its first line on stdout once it listens on 127.0.0.1.
"""
import argparse
import http.server
import json
import sys
import time

import local_server


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--params", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log")
    args = parser.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *unused):
            pass

        def do_GET(self):
            if args.log:
                with open(args.log, "a") as log:
                    log.write(json.dumps({"method": "GET", "path": self.path}) + "\n")
            if self.path.rstrip("/") != "/lavanet/lava/protocol/params":
                self.send_error(404)
                return
            with open(args.params, "rb") as source:
                body = source.read()
            status = 200
            if body.startswith(b"STALL"):
                if args.log:
                    with open(args.log, "a") as log:
                        log.write(json.dumps({"stalled": True}) + "\n")
                time.sleep(3600)
                return
            if body.startswith(b"STATUS "):
                first, _, body = body.partition(b"\n")
                status = int(first.split()[1])
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return local_server.serve(Handler, args.port)


if __name__ == "__main__":
    sys.exit(main())
