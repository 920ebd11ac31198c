#!/usr/bin/env python3
"""Chaos harness: hostile replies, files and requests against running visors, for minutes.

    tests/chaos/chaos.py [--build build] [--seconds N] [--seed S]

Starts three real visors, one per upgrade source, each supervising a stand-in node (the test
child behind a script that answers `version`) and serving /healthz on 127.0.0.1:
  lava    its REST endpoint is tests/e2e/support/hostile_server.py on 127.0.0.1
  vega    its admin socket is the same server on a unix socket
  cosmos  its upgrade-info.json is rewritten, replaced by a FIFO, a directory, a symlink to a
          device, a huge file...
Until the time is up (--seconds, default $VISOR_CHAOS_SECONDS or 60) every source gets a new
hostile reply or file every 50-300 ms (random bytes, invalid UTF-8, deep nesting, huge, endless,
stalled, trickled and truncated bodies, numbers where strings belong, control characters), and
each health server gets hostile requests (garbage, huge headers, trickled requests, idle
connections, pipelining). Nothing ever announces a version above the running one, so no upgrade
is due: the child must never be disturbed.

Checked all along: each visor is alive, its child is the same process (one line in the pid
file, no restart in status.json), /healthz answers 200 within 2 s, RSS and open descriptors stay
within bounds. Checked at the end: every line each visor wrote is valid UTF-8 and shorter than
8 KiB. Prints the counts of what it tried; exits 1 on the first broken promise (with the
reason and the seed, to run it again the same way).
"""
import argparse
import collections
import json
import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER = os.path.join(ROOT, "tests", "e2e", "support", "hostile_server.py")
MAX_LINE = 8192
RSS_GROWTH_KIB = 48 * 1024
FD_GROWTH = 48
HEALTH_DEADLINE = 2.0

tried = collections.Counter()
tried_lock = threading.Lock()


def count(what):
    with tried_lock:
        tried[what] += 1


class Broken(Exception):
    pass


# ---- generators of hostile content ---------------------------------------------------------

def deep(rng, inner="1"):
    depth = rng.choice([65, 1000, 50000, 150000])
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
    return opener * depth + inner + closer * depth


def junk_bytes(rng, size=None):
    return bytes(rng.getrandbits(8) for _ in range(size if size is not None else rng.randint(0, 4096)))


def bad_text(rng):
    return rng.choice([
        b"\xff\xfe\xfd", b"caf\xe9", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
        b"\x1b[2J\x1b[31mred", b"line\nbreak\r\n", b"\xe2\x80\xaeevil", b"\x00nul", b"\xe2\x82",
    ])


def not_a_string(rng):
    return rng.choice(["1e999", "-1", "5.3", "true", "null", "{}", "[]", "[1,[2,[3]]]",
                       "18446744073709551616", '{"$ref":"#"}'])


def transport(rng, body):
    """Wraps a body in one of hostile_server.py's behaviours."""
    kind = rng.choices(["plain", "status", "stall", "endless", "truncate", "trickle", "close",
                        "headers"], [30, 8, 2, 2, 4, 2, 3, 2])[0]
    count("transport:" + kind)
    if kind == "plain":
        return body
    if kind == "status":
        return b"STATUS %d\n" % rng.choice([301, 400, 404, 429, 500, 502, 503, 999]) + body
    if kind == "trickle":
        return b"TRICKLE\n" + body[:20]
    return kind.upper().encode() + b"\n" + body


def lava_body(rng, current):
    def reply(target):
        return (b'{"params":{"version":{"provider_target":' + target +
                b',"provider_min":"1.0.0","consumer_target":"1.0.0","consumer_min":"1.0.0"}}}')
    kind = rng.choice(["random", "invalid-utf8", "deep", "huge", "number", "truncated",
                       "controls", "long-string", "wrong-shape", "valid-current"])
    count("lava:" + kind)
    good = reply(b'"' + current.encode() + b'"')
    if kind == "random":
        return junk_bytes(rng)
    if kind == "invalid-utf8":
        return reply(b'"' + current.encode() + bad_text(rng) + b'"')
    if kind == "deep":
        return reply(deep(rng).encode()) if rng.random() < 0.5 else deep(rng).encode()
    if kind == "huge":
        return b'{"params":"' + b"x" * rng.choice([1 << 20, 3 << 20]) + b'"}'
    if kind == "number":
        return reply(not_a_string(rng).encode())
    if kind == "truncated":
        return good[: rng.randint(0, len(good) - 1)]
    if kind == "controls":
        return reply(b'"' + json.dumps("\n\x07\u202e\u2028" * 20).encode()[1:-1] + b'"')
    if kind == "long-string":
        return reply(b'"' + b"9" * rng.choice([300, 100000, 900000]) + b'"')
    if kind == "wrong-shape":
        return rng.choice([b"[]", b'{"params":[]}', b'{"params":{"version":"5"}}', b"null", b'""'])
    return good


def vega_body(rng, current):
    def rpc(result=b"null", error=b"null", id_=b"@ID@"):
        return b'{"result":' + result + b',"error":' + error + b',"id":' + id_ + b"}"

    def result(tag, height=b"1", ready=b"false"):
        return (b'{"AcceptedReleaseInfo":{"VegaReleaseTag":' + tag + b',"UpgradeBlockHeight":' +
                height + b'},"ReadyToUpgrade":' + ready + b"}")
    kind = rng.choice(["random", "invalid-utf8", "deep-id", "deep-error", "deep-result",
                       "number", "error-text", "wrong-id", "huge", "truncated", "valid-current"])
    count("vega:" + kind)
    good = rpc(result(b'"v' + current.encode() + b'"'))
    if kind == "random":
        return junk_bytes(rng)
    if kind == "invalid-utf8":
        return rpc(error=b'{"code":-1,"message":"' + bad_text(rng) + b'"}')
    if kind == "deep-id":
        return rpc(id_=deep(rng).encode())
    if kind == "deep-error":
        return rpc(error=deep(rng, "{}").encode())
    if kind == "deep-result":
        return rpc(result=deep(rng).encode())
    if kind == "number":
        return rpc(result(not_a_string(rng).encode(), not_a_string(rng).encode(),
                          not_a_string(rng).encode()))
    if kind == "error-text":
        return rpc(error=json.dumps("\x1b[31m\n" + "e" * rng.choice([10, 5000, 500000])).encode())
    if kind == "wrong-id":
        return rpc(id_=rng.choice([b'"x"', b"-1", b"1e300", b"[1,2]", b"{}", b"99999999999"]))
    if kind == "huge":
        return rpc(error=b'"' + b"h" * (2 << 20) + b'"')
    if kind == "truncated":
        return good[: rng.randint(0, len(good) - 1)]
    return good


def write_cosmos_file(rng, path):
    """Puts something hostile at `path` (never a valid plan: that would be a halt)."""
    kind = rng.choice(["random", "invalid-utf8", "deep-height", "deep-info", "huge", "fifo",
                       "directory", "device-link", "number-name", "truncated", "empty"])
    count("cosmos:" + kind)
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.unlink(path)
    if kind == "fifo":
        os.mkfifo(path)
        return
    if kind == "directory":
        os.mkdir(path)
        return
    if kind == "device-link":
        os.symlink(rng.choice(["/dev/zero", "/dev/urandom", "/dev/null"]), path)
        return
    plan_start = b'{"name":"v9.9.9","height":'
    body = {
        "random": lambda: junk_bytes(rng),
        "invalid-utf8": lambda: b'{"name":"v9' + bad_text(rng) + b'","height":"x"}',
        "deep-height": lambda: plan_start + deep(rng).encode() + b"}",
        "deep-info": lambda: plan_start + b'"12","info":' + deep(rng).encode() + b",}",
        "huge": lambda: b'{"name":"' + b"n" * (2 << 20) + b'"}',
        "number-name": lambda: b'{"name":' + not_a_string(rng).encode() + b',"height":"-5"}',
        "truncated": lambda: plan_start + b"12",
        "empty": lambda: b"",
    }[kind]()
    temporary = path + ".chaos-tmp"
    with open(temporary, "wb") as out:
        out.write(body)
    os.rename(temporary, path)


def health_attack(rng, port, stop_at):
    kind = rng.choice(["garbage", "huge-header", "trickle", "idle", "pipeline", "close",
                       "long-path", "bad-method", "http09"])
    count("health:" + kind)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as conn:
            if kind == "garbage":
                conn.sendall(junk_bytes(rng, rng.randint(1, 8192)))
            elif kind == "huge-header":
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 +
                             b"\r\n\r\n")
            elif kind == "trickle":
                for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\n"[:20]:
                    if time.monotonic() > stop_at:
                        break
                    conn.sendall(bytes([byte]))
                    time.sleep(0.1)
            elif kind == "idle":
                time.sleep(rng.uniform(0.5, 2.5))
            elif kind == "pipeline":
                conn.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 200)
            elif kind == "long-path":
                conn.sendall(b"GET /" + b"p" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            elif kind == "bad-method":
                conn.sendall(b"\xff\xfe /healthz HTTP/1.1\r\nHost: \x00\r\n\r\n")
            elif kind == "http09":
                conn.sendall(b"GET /healthz\r\n")
            if kind != "close":
                conn.settimeout(1)
                try:
                    while conn.recv(65536):
                        pass
                except OSError:
                    pass
    except OSError:
        pass  # refused or reset: the server may shed hostile clients


# ---- the visors under test ----------------------------------------------------------------

class Visor:
    def __init__(self, name, workdir, build, child, version, source_args, children=1):
        self.name = name
        self.dir = os.path.join(workdir, name)
        os.makedirs(os.path.join(self.dir, "bin"))
        self.version = version
        binary = {"lava": "lavap", "vega": "vega", "cosmos": "simd"}[name]
        script = os.path.join(self.dir, "bin", binary)
        with open(script, "w") as out:
            out.write('#!/bin/sh\nif [ "$1" = version ]; then echo %s; exit 0; fi\n'
                      'exec %s "$@"\n' % (version, child))
        os.chmod(script, 0o755)
        # A visor of several children is a service set (section "Service sets" of the README):
        # each child has its own pid file, and none may ever be started twice.
        self.pid_files = [os.path.join(self.dir, "pids" if children == 1 else "pids-%d" % index)
                          for index in range(children)]
        self.pid_file = self.pid_files[0]
        if children == 1:
            commands = ["--cmd", "%s start --pid-file %s" % (binary, self.pid_file)]
        else:
            commands = []
            for index, pid_file in enumerate(self.pid_files):
                commands += ["--child", "p%d=%s start --pid-file %s" % (index, binary, pid_file)]
        self.health_port = free_port()
        self.log_path = os.path.join(self.dir, "visor.log")
        self.log = open(self.log_path, "wb")
        environment = dict(os.environ, PATH=os.path.join(self.dir, "bin") + ":" + os.environ["PATH"])
        self.home = os.path.join(self.dir, "home")
        self.process = subprocess.Popen(
            [os.path.join(build, "visor"), "wrap", "--home", self.home, "--source", name,
             "--poll-interval", "100ms", "--request-timeout", "1s",
             "--health-listen", "127.0.0.1:%d" % self.health_port,
             ] + commands + source_args,
            stdout=self.log, stderr=subprocess.STDOUT, env=environment)
        self.baseline_rss = None
        self.baseline_fds = None

    def check(self):
        if self.process.poll() is not None:
            raise Broken("%s visor exited with %s" % (self.name, self.process.returncode))
        for pid_file in self.pid_files:
            pids = open(pid_file).read().split() if os.path.exists(pid_file) else []
            if len(pids) != 1:
                raise Broken("%s: a child was started %d times: %s" % (self.name, len(pids), pids))
        try:
            status = json.load(open(os.path.join(self.home, "status.json"), encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise Broken("%s: status.json unreadable: %s" % (self.name, error))
        if status.get("child_restarts_total") != 0 or not status.get("child_up"):
            raise Broken("%s: status.json says %s" % (self.name, status))
        children = status.get("children") or []
        if len(self.pid_files) > 1 and (len(children) != len(self.pid_files) or
                                        not all(entry.get("pid") for entry in children)):
            raise Broken("%s: status.json children: %s" % (self.name, children))
        started = time.monotonic()
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.health_port,
                                        timeout=HEALTH_DEADLINE) as reply:
                code = reply.status
        except Exception as error:  # noqa: BLE001 - any failure is the finding
            raise Broken("%s: /healthz did not answer within %.1f s: %r" %
                         (self.name, HEALTH_DEADLINE, error))
        if code != 200:
            raise Broken("%s: /healthz answered %d" % (self.name, code))
        count("check:healthz-ok")
        count("check:healthz-ms<%d" % (100 * (1 + int((time.monotonic() - started) * 10))))
        rss = rss_kib(self.process.pid)
        fds = len(os.listdir("/proc/%d/fd" % self.process.pid))
        if self.baseline_rss is None:
            self.baseline_rss, self.baseline_fds = rss, fds
        if rss - self.baseline_rss > RSS_GROWTH_KIB:
            raise Broken("%s: RSS grew from %d to %d KiB" % (self.name, self.baseline_rss, rss))
        if fds - self.baseline_fds > FD_GROWTH:
            raise Broken("%s: open descriptors grew from %d to %d" %
                         (self.name, self.baseline_fds, fds))

    def check_status_command(self, build):
        """`visor status --json` and its text form: valid UTF-8, JSON where promised."""
        for extra in (["--json"], []):
            done = subprocess.run([os.path.join(build, "visor"), "status", "--home", self.home] +
                                  extra, capture_output=True, timeout=10)
            count("check:status-command")
            try:
                text = done.stdout.decode("utf-8", errors="strict")
            except UnicodeDecodeError as error:
                raise Broken("%s: visor status %s is not UTF-8: %s" % (self.name, extra, error))
            if done.returncode != 0:
                raise Broken("%s: visor status %s exited %d: %s" %
                             (self.name, extra, done.returncode, done.stderr[:300]))
            if extra:
                live = json.loads(text).get("live") or {}
                if live.get("child_restarts_total") != 0:
                    raise Broken("%s: status --json says %s" % (self.name, live))

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                raise Broken("%s: visor did not stop within 20 s of SIGTERM" % self.name)
            finally:
                self.kill_orphans()
        self.kill_orphans()  # a visor that died left its child running unsupervised
        self.log.close()

    def kill_orphans(self):
        pids = []
        for pid_file in self.pid_files:
            if os.path.exists(pid_file):
                pids += open(pid_file).read().split()
        for pid in pids:
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as cmdline:
                    if b"visor-test-child" not in cmdline.read():
                        continue  # gone, and the number reused by another process
                os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass

    def check_log(self):
        with open(self.log_path, "rb") as log:
            for number, line in enumerate(log.read().split(b"\n"), 1):
                if len(line) > MAX_LINE:
                    raise Broken("%s: log line %d is %d bytes" % (self.name, number, len(line)))
                try:
                    line.decode("utf-8", errors="strict")
                except UnicodeDecodeError as error:
                    raise Broken("%s: log line %d is not UTF-8 (%s): %r" %
                                 (self.name, number, error, line[:200]))
                count("check:log-line")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise Broken("timed out waiting for " + what)


def replace(path, data):
    temporary = path + ".tmp"
    with open(temporary, "wb") as out:
        out.write(data)
    os.rename(temporary, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--seconds", type=float,
                        default=float(os.environ.get("VISOR_CHAOS_SECONDS", "60")))
    parser.add_argument("--seed", type=int, default=int(time.time()))
    # A few at once: the health server's connection limit is the subject of its own tests, and
    # the harness must not starve /healthz by itself.
    parser.add_argument("--health-clients", type=int, default=8,
                        help="hostile health clients at once, per visor")
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    child = os.path.join(build, "tests", "visor-test-child")
    print("chaos: seed %d, %.0f s" % (args.seed, args.seconds), flush=True)

    workdir = tempfile.mkdtemp(prefix="visor-chaos-")
    servers, visors = [], []
    failure = []
    stop = threading.Event()
    try:
        lava_reply = os.path.join(workdir, "lava-reply")
        vega_reply = os.path.join(workdir, "vega-reply")
        vega_socket = os.path.join(workdir, "vega.sock")
        replace(lava_reply, b'{"params":{"version":{"provider_target":"5.2.1","provider_min":'
                            b'"1.0.0","consumer_target":"1.0.0","consumer_min":"1.0.0"}}}')
        replace(vega_reply, b'{"result":{"AcceptedReleaseInfo":null,"ReadyToUpgrade":false},'
                            b'"error":null,"id":@ID@}')
        lava_out = open(os.path.join(workdir, "lava-server.out"), "w+")
        servers.append(subprocess.Popen([sys.executable, SERVER, "--reply", lava_reply],
                                        stdout=lava_out, stderr=subprocess.STDOUT))
        servers.append(subprocess.Popen([sys.executable, SERVER, "--reply", vega_reply,
                                         "--socket", vega_socket],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))

        def lava_port():
            lava_out.seek(0)
            text = lava_out.read()
            return int(text.split()[1]) if text.startswith("PORT ") and "\n" in text else None
        wait_for(lambda: lava_port() is not None, 10, "the lava stand-in")
        wait_for(lambda: os.path.exists(vega_socket), 10, "the vega stand-in")
        cosmos_dir = os.path.join(workdir, "chain", "data")
        os.makedirs(cosmos_dir)
        info = os.path.join(cosmos_dir, "upgrade-info.json")

        visors = [
            Visor("lava", workdir, build, child, "5.2.1",
                  ["--lava-rest", "http://127.0.0.1:%d" % lava_port()], children=2),
            Visor("vega", workdir, build, child, "0.79.0",
                  ["--vega-admin-socket", vega_socket]),
            Visor("cosmos", workdir, build, child, "1.0.0", ["--upgrade-info", info]),
        ]
        for visor in visors:
            wait_for(lambda: all(os.path.exists(path) for path in visor.pid_files) and
                     os.path.exists(os.path.join(visor.home, "status.json")), 15,
                     visor.name + " child to start")
            wait_for(lambda: visor.process.poll() is not None or
                     json.load(open(os.path.join(visor.home, "status.json"))).get("child_up"),
                     15, visor.name + " child to be up")
        for visor in visors:
            visor.check()

        deadline = time.monotonic() + args.seconds

        def guarded(function):
            def run():
                try:
                    function()
                except Exception as error:  # noqa: BLE001 - reported as the failure
                    failure.append("%s: %r" % (function.__name__, error))
                    stop.set()
            return run

        def feed(name, make, path, current):
            def loop():
                rng = random.Random("%d-%s" % (args.seed, name))
                while not stop.is_set() and time.monotonic() < deadline:
                    replace(path, transport(rng, make(rng, current)))
                    stop.wait(rng.uniform(0.05, 0.3))
            loop.__name__ = "feed_" + name
            return loop

        def cosmos_loop():
            rng = random.Random("%d-cosmos" % args.seed)
            while not stop.is_set() and time.monotonic() < deadline:
                write_cosmos_file(rng, info)
                stop.wait(rng.uniform(0.05, 0.3))

        def health_loop(visor, number):
            def loop():
                rng = random.Random("%d-health-%s-%d" % (args.seed, visor.name, number))
                while not stop.is_set() and time.monotonic() < deadline:
                    health_attack(rng, visor.health_port, deadline)
            loop.__name__ = "health_%s_%d" % (visor.name, number)
            return loop

        threads = [feed("lava", lava_body, lava_reply, "5.2.1"),
                   feed("vega", vega_body, vega_reply, "0.79.0"), cosmos_loop]
        for visor in visors:
            threads += [health_loop(visor, number) for number in range(args.health_clients)]
        workers = [threading.Thread(target=guarded(function), daemon=True) for function in threads]
        for worker in workers:
            worker.start()
        while not stop.is_set() and time.monotonic() < deadline:
            for visor in visors:
                try:
                    visor.check()
                except Broken as error:
                    failure.append(str(error))
                    stop.set()
                    break
            stop.wait(0.5)
        stop.set()
        for worker in workers:
            worker.join(10)
        if not failure:
            for visor in visors:
                visor.check()
                visor.check_status_command(build)
    except Broken as error:
        failure.append(str(error))
    finally:
        stop.set()
        for visor in visors:
            try:
                visor.stop()
            except Broken as error:
                failure.append(str(error))
        for server in servers:
            server.kill()
            server.wait()
    if not failure:
        try:
            for visor in visors:
                visor.check_log()
        except Broken as error:
            failure.append(str(error))

    print("chaos: tried " + ", ".join("%s=%d" % item for item in sorted(tried.items())))
    if failure:
        print("chaos: FAILED (seed %d, files kept in %s): %s" % (args.seed, workdir, failure[0]))
        for visor in visors:
            print("---- %s visor log (tail)" % visor.name)
            with open(visor.log_path, "rb") as log:
                sys.stdout.write(log.read()[-3000:].decode("utf-8", "replace"))
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    print("chaos: passed: 3 visors alive, children undisturbed, /healthz answered, "
          "memory and descriptors bounded, every log line valid UTF-8 and bounded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
