#!/usr/bin/env python3
"""A local stand-in for a release download site (GitHub releases), with fault injection.

Serves the files of a directory over HTTP on 127.0.0.1 for visor's tests. Python 3 standard
library only.

Usage:
  release_server.py [--dir DIR] [--port N | --unix PATH] [--tls-cert PEM --tls-key PEM]
                    [--log FILE] [--control FILE]
                    [--drop-after BYTES] [--stall] [--truncate] [--status CODE]
                    [--status-times N] [--rate BYTES_PER_SECOND]

Start-up: the first line on stdout is "PORT <n>" (flushed) once the socket listens; with
--port 0 (the default) the port is chosen by the kernel. With --unix PATH it listens on that
unix socket instead and the first line is "UNIX <path>". With --tls-cert and --tls-key it
speaks HTTPS (on TCP) with that certificate. Stop it with SIGTERM.

Serving: GET and HEAD of /<path> answer the file DIR/<path> (query strings are ignored, so
"?checksum=sha256:..." URLs work). "Range: bytes=N-", "bytes=N-M" and "bytes=-N" answer 206
with Content-Range; a start beyond the end answers 416 with "Content-Range: bytes */<size>".
Missing files and directories answer 404. Paths cannot leave DIR. POST answers 200 with the
request body echoed back (same Content-Type), for testing HTTP clients.

Request log (--log FILE): one JSON object per line, written and flushed when the request
arrives (before any answer, so stalled requests are logged too):
  {"method": "GET", "path": "/a.bin", "range": "bytes=100-"}      ("range" is null when absent)

Fault modes (flags; all off by default):
  --drop-after BYTES  the first GET of each file sends the headers of a full answer, then only
                      BYTES bytes of the body, then closes the connection; later GETs of the
                      same file behave (so a downloader that resumes gets the rest)
  --stall             accept the connection, read the request, never answer
  --truncate          every GET announces the full Content-Length but sends only half of the
                      body, then closes the connection
  --status CODE       answer every request with this HTTP status and a short text body
  --status-times N    with --status: only the first N requests get CODE, later ones behave
  --rate BPS          send bodies at about BPS bytes per second
  --no-length         send file bodies without Content-Length, ended by closing the connection
Control file (--control FILE): when FILE exists it is read again on every request; it holds a
JSON object with any of the keys drop_after, stall, truncate, status, status_times, rate,
no_length, which
override the flags. A test can so change the behaviour of a running server by rewriting FILE
(write a temporary file and rename it, so the server never reads half a file).
"""

import argparse
import json
import os
import posixpath
import re
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 256 * 1024


class State:
    """What the handlers share: options, counters, the log file."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.requests_seen = 0
        self.dropped_paths = set()
        self.stop = threading.Event()
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None

    def faults(self):
        faults = {
            "drop_after": self.args.drop_after,
            "stall": self.args.stall,
            "truncate": self.args.truncate,
            "status": self.args.status,
            "status_times": self.args.status_times,
            "rate": self.args.rate,
            "no_length": self.args.no_length,
        }
        if self.args.control and os.path.exists(self.args.control):
            try:
                with open(self.args.control, encoding="utf-8") as control:
                    faults.update(json.load(control))
            except (OSError, ValueError) as error:
                print(f"release_server: ignoring control file: {error}", file=sys.stderr)
        return faults

    def record(self, method, path, range_header):
        with self.lock:
            self.requests_seen += 1
            number = self.requests_seen
            if self.log:
                line = {"method": method, "path": path, "range": range_header}
                self.log.write(json.dumps(line) + "\n")
                self.log.flush()
        return number


def parse_range(header, size):
    """(start, end_inclusive) for a single byte range, "unsatisfiable", or None to ignore it."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", (header or "").strip())
    if not match or (match.group(1) == "" and match.group(2) == ""):
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        suffix = int(last)
        if suffix == 0:
            return "unsatisfiable"
        return (max(0, size - suffix), size - 1)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return "unsatisfiable"
    return (start, end)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "release_server/1"
    state = None  # set in main()

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        if self.state.args.verbose:
            super().log_message(format, *args)

    def do_HEAD(self):
        self.answer(send_body=False)

    def do_GET(self):
        self.answer(send_body=True)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        self.state.record(self.command, self.path, self.headers.get("Range"))
        self.send_response(200)
        self.send_header("Content-Type", self.headers.get("Content-Type") or "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def address_string(self):
        # Unix-socket peers have no (host, port) address.
        return self.client_address[0] if isinstance(self.client_address, tuple) else "unix"

    def answer(self, send_body):
        range_header = self.headers.get("Range")
        number = self.state.record(self.command, self.path, range_header)
        faults = self.state.faults()

        if faults.get("stall"):
            self.close_connection = True
            self.state.stop.wait()
            return
        status = faults.get("status")
        times = faults.get("status_times")
        if status and (times is None or number <= int(times)):
            self.send_text(int(status), f"status {status}\n", send_body)
            return

        file_path = self.resolve(self.path)
        if file_path is None:
            self.send_text(404, "not found\n", send_body)
            return
        size = os.path.getsize(file_path)
        wanted = parse_range(range_header, size)
        if wanted == "unsatisfiable":
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if wanted is None:
            start, end, code = 0, size - 1, 200
        else:
            start, end, code = wanted[0], wanted[1], 206
        length = end - start + 1 if size > 0 else 0

        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        if faults.get("no_length"):
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        if code == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if not send_body:
            return

        to_send = length
        with self.state.lock:
            drop = faults.get("drop_after") is not None and file_path not in self.state.dropped_paths
            if drop:
                self.state.dropped_paths.add(file_path)
        if drop:
            to_send = min(length, int(faults["drop_after"]))
        if faults.get("truncate"):
            to_send = min(to_send, length // 2)
        self.send_file(file_path, start, to_send, faults.get("rate"))
        if to_send < length:
            self.close_connection = True

    def resolve(self, raw_path):
        path = urllib.parse.unquote(urllib.parse.urlsplit(raw_path).path)
        normal = posixpath.normpath("/" + path).lstrip("/")
        root = os.path.realpath(self.state.args.dir)
        full = os.path.realpath(os.path.join(root, normal))
        if not (full == root or full.startswith(root + os.sep)) or not os.path.isfile(full):
            return None
        return full

    def send_text(self, code, text, send_body):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def send_file(self, file_path, offset, count, rate):
        self.wfile.flush()
        sock = self.connection
        tls = self.state.args.tls_cert is not None  # sendfile would bypass the encryption
        started = time.monotonic()
        sent = 0
        with open(file_path, "rb") as source:
            while sent < count:
                step = min(CHUNK, count - sent)
                if rate:
                    step = min(step, max(1, int(rate) // 10))
                try:
                    if tls:
                        source.seek(offset + sent)
                        data = source.read(step)
                        sock.sendall(data)
                        done = len(data)
                    else:
                        done = os.sendfile(sock.fileno(), source.fileno(), offset + sent, step)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                    return
                if done == 0:
                    break
                sent += done
                if rate:
                    ahead = sent / float(rate) - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)


class QuietErrors:
    """Clients that hang up mid-reply (on purpose, in tests) are not worth a traceback."""

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class TcpServer(QuietErrors, ThreadingHTTPServer):
    daemon_threads = True


class ThreadingUnixHTTPServer(QuietErrors, socketserver.ThreadingMixIn,
                              socketserver.UnixStreamServer):
    """ThreadingHTTPServer's unix-socket twin."""

    daemon_threads = True

    def server_bind(self):
        socketserver.UnixStreamServer.server_bind(self)
        self.server_name = "localhost"
        self.server_port = 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=".", help="directory to serve (default: .)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--unix", help="listen on this unix socket path instead of TCP")
    parser.add_argument("--tls-cert", dest="tls_cert", help="PEM certificate: serve HTTPS")
    parser.add_argument("--tls-key", dest="tls_key", help="PEM private key for --tls-cert")
    parser.add_argument("--log", help="append one JSON line per request to this file")
    parser.add_argument("--control", help="JSON file of fault settings, re-read per request")
    parser.add_argument("--drop-after", type=int, dest="drop_after")
    parser.add_argument("--stall", action="store_true")
    parser.add_argument("--truncate", action="store_true")
    parser.add_argument("--status", type=int)
    parser.add_argument("--status-times", type=int, dest="status_times")
    parser.add_argument("--rate", type=int, help="bytes per second")
    parser.add_argument("--no-length", action="store_true", dest="no_length")
    parser.add_argument("--verbose", action="store_true", help="access log on stderr")
    args = parser.parse_args()

    Handler.state = State(args)
    if args.unix:
        if os.path.exists(args.unix):
            os.unlink(args.unix)
        server = ThreadingUnixHTTPServer(args.unix, Handler)
        server.daemon_threads = True
        print(f"UNIX {args.unix}", flush=True)
    else:
        server = TcpServer((args.host, args.port), Handler)
        if args.tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(args.tls_cert, args.tls_key)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        server.daemon_threads = True
        print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        Handler.state.stop.set()
        server.server_close()


if __name__ == "__main__":
    main()
