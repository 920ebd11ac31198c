#!/usr/bin/env python3
"""A stand-in for a node's CometBFT RPC (what `--node` points at) for tests and benchmarks.

    cometbft_node.py --control FILE [--log FILE] [--port N]

Re-reads FILE (JSON, rewritten by the test) on every request:
  {"chain_id": "lava-testnet-2", "height": 100,
   "params": {"provider_target": "5.3.0", "provider_min": "5.0.0",
              "consumer_target": "5.3.0", "consumer_min": "5.0.0"},
   "plan": {"name": "v2.0.0", "height": 1234, "info": "..."} or null,
   "abci": "normal" | "garbage" | "truncated" | "huge" | "not-base64" | "not-protobuf" | "stall"}
Answers GET /status (result.node_info.network, result.sync_info.latest_block_height) and
GET /abci_query?path="<path>" for /lavanet.lava.protocol.Query/Params and
/cosmos.upgrade.v1beta1.Query/CurrentPlan, the value being the base64 protobuf reply as a
node sends it. "abci" other than "normal" turns the abci_query replies hostile. Every request
is appended to the log as "GET <path>". Prints "PORT <n>" once it listens on 127.0.0.1.

The protobuf bytes are encoded by hand below (a few length-delimited and varint fields, the
wire format of https://protobuf.dev/programming-guides/encoding/), so the stand-in needs no
generated Python code; visor decodes them with libprotobuf from its own .proto files, so the
two sides are written independently.
"""
import argparse
import base64
import http.server
import json
import sys
import time
import urllib.parse

import local_server

HUGE = 50 * 1024 * 1024


def varint(number):
    out = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        if number:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def length_delimited(field, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(field << 3 | 2) + varint(len(data)) + data


def varint_field(field, number):
    return varint(field << 3 | 0) + varint(number)


def lava_params_reply(params):
    # QueryParamsResponse{params=1: Params{version=1: Version{provider_target=1, provider_min=2,
    # consumer_target=3, consumer_min=4}}}
    version = b"".join(
        length_delimited(number, params[name])
        for number, name in ((1, "provider_target"), (2, "provider_min"),
                             (3, "consumer_target"), (4, "consumer_min"))
        if params.get(name))
    return length_delimited(1, length_delimited(1, version))


def current_plan_reply(plan):
    # QueryCurrentPlanResponse{plan=1: Plan{name=1, height=3 (int64), info=4}}; no plan: empty.
    if not plan:
        return b""
    body = length_delimited(1, plan["name"]) + varint_field(3, int(plan["height"]))
    if plan.get("info"):
        body += length_delimited(4, plan["info"])
    return length_delimited(1, body)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--control", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log")
    args = parser.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *unused):
            pass

        def reply(self, body, status=200):
            if isinstance(body, str):
                body = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if args.log:
                with open(args.log, "a") as log:
                    log.write("GET %s\n" % self.path)
            with open(args.control) as control_file:
                control = json.load(control_file)
            url = urllib.parse.urlsplit(self.path)
            height = int(control.get("height", 1))
            if url.path == "/status":
                result = {"node_info": {"network": control.get("chain_id", "test-chain"),
                                        "version": "0.38.12"},
                          "sync_info": {"latest_block_height": str(height),
                                        "catching_up": False}}
                self.reply(json.dumps({"jsonrpc": "2.0", "id": -1, "result": result}))
                return
            if url.path != "/abci_query":
                self.send_error(404)
                return
            query = urllib.parse.parse_qs(url.query).get("path", [""])[0].strip('"')
            if query == "/lavanet.lava.protocol.Query/Params":
                value = lava_params_reply(control.get("params") or {})
            elif query == "/cosmos.upgrade.v1beta1.Query/CurrentPlan":
                value = current_plan_reply(control.get("plan"))
            else:
                self.reply(json.dumps({"jsonrpc": "2.0", "id": -1, "result": {"response": {
                    "code": 6, "log": "unknown query path", "codespace": "sdk"}}}))
                return
            mode = control.get("abci", "normal")
            encoded = base64.b64encode(value).decode() if value else None
            if mode == "not-base64":
                encoded = "%%% this is not base64 %%%"
            elif mode == "not-protobuf":
                # field 1, length 100, but only three bytes follow: not a message.
                encoded = base64.b64encode(b"\x0a\x64abc").decode()
            response = {"code": 0, "log": "", "info": "", "index": "0", "key": None,
                        "value": encoded, "proofOps": None, "height": str(height),
                        "codespace": ""}
            body = json.dumps({"jsonrpc": "2.0", "id": -1, "result": {"response": response}})
            if mode == "stall":
                time.sleep(3600)
                return
            if mode == "garbage":
                body = "<html><body>502 Bad Gateway \x01\x02</body></html>"
            elif mode == "truncated":
                body = body[: len(body) // 2]
            elif mode == "huge":
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(HUGE))
                    self.end_headers()
                    chunk = b" " * (1024 * 1024)
                    for _ in range(HUGE // len(chunk)):
                        self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # visor gave up early, as it should
                return
            self.reply(body)

    return local_server.serve(Handler, args.port)


if __name__ == "__main__":
    sys.exit(main())
