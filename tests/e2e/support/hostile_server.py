#!/usr/bin/env python3
"""A hostile endpoint for the hostile-input tests and the chaos harness.

    hostile_server.py --reply FILE (--socket PATH | [--port N]) [--log FILE]

Answers every GET and POST, on any path, with the raw bytes of FILE as it is at that moment
(so a test changes the reply by rewriting FILE; any bytes, also invalid UTF-8). The first line
of FILE may choose a behaviour (and "@ID@" in it becomes the JSON-RPC id of the request) instead of a plain 200 reply, and the rest is the body:
  STATUS <code>   that status with the rest as body
  STALL           accept the request and never answer
  ENDLESS         200 without Content-Length, then spaces until the client goes away
  TRUNCATE        Content-Length of twice the body, then the body, then close
  TRICKLE         the body one byte every 50 ms
  CLOSE           close the connection without a word
  HEADERS         a 200 with 10,000 junk header lines, then the body
Listens on the unix socket PATH (the Vega admin socket) or on 127.0.0.1 (printing "PORT <n>"
as its first line on stdout). Every request is appended to --log as "<METHOD> <path>".
"""
import argparse
import http.server
import re
import sys
import time

import local_server


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reply", required=True)
    parser.add_argument("--socket")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log")
    args = parser.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *unused):
            pass

        def address_string(self):
            return "client"

        def answer(self):
            if args.log:
                with open(args.log, "a") as log:
                    log.write(f"{self.command} {self.path}\n")
            length = int(self.headers.get("Content-Length") or 0)
            request = self.rfile.read(min(length, 1 << 20)) if length > 0 else b""
            with open(args.reply, "rb") as source:
                body = source.read()
            found = re.search(rb'"id"\s*:\s*(\d+)', request)
            body = body.replace(b"@ID@", found.group(1) if found else b"0")
            verb, status = b"", 200
            if body[:1].isupper():
                first, newline, rest = body.partition(b"\n")
                word = first.split(b" ")[0]
                if word in (b"STATUS", b"STALL", b"ENDLESS", b"TRUNCATE", b"TRICKLE", b"CLOSE",
                            b"HEADERS"):
                    verb, body = word, rest
                    if word == b"STATUS":
                        status = int(first.split()[1])
            try:
                if verb == b"STALL":
                    time.sleep(3600)
                    return
                if verb == b"CLOSE":
                    self.close_connection = True
                    return
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if verb == b"HEADERS":
                    for number in range(10000):
                        self.send_header(f"X-Junk-{number}", "x" * 60)
                if verb == b"ENDLESS":
                    self.send_header("Connection", "close")
                    self.end_headers()
                    chunk = b" " * 65536
                    deadline = time.monotonic() + 120
                    while time.monotonic() < deadline:
                        self.wfile.write(chunk)
                    return
                announced = len(body) * 2 + 1 if verb == b"TRUNCATE" else len(body)
                self.send_header("Content-Length", str(announced))
                self.end_headers()
                if verb == b"TRICKLE":
                    for index in range(len(body)):
                        self.wfile.write(body[index:index + 1])
                        self.wfile.flush()
                        time.sleep(0.05)
                else:
                    self.wfile.write(body)
                if verb == b"TRUNCATE":
                    self.close_connection = True
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as it should

        do_GET = answer
        do_POST = answer

    return local_server.serve(Handler, args.port, args.socket)


if __name__ == "__main__":
    sys.exit(main())
