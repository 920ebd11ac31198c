#!/usr/bin/env python3
"""Switch downtime of `visor wrap` with a pre-staged binary (Cosmos upgrade-info.json).

    switch_bench.py --visor PATH --child PATH --work DIR [--trials N] [--shutdown-ms MS]

Per trial, in a fresh home: two copies of visor-bench-child named `node` answer `version` with
1.0.0 and 2.0.0 (a version trailer appended to each copy); `visor init --import` makes 1.0.0
current and `visor add-upgrade 2.0.0` pre-stages the other. visor runs 1.0.0 with
`--source cosmos --upgrade-info FILE`; the benchmark then writes FILE (the plan "v2.0.0",
written to a temporary name and renamed, as a chain does) and waits for 2.0.0 to start.
The children log CLOCK_MONOTONIC nanoseconds at start, when SIGTERM arrives, and at exit
(after --shutdown-ms of simulated work); the benchmark notes the same clock when it renames
FILE. Reported per trial (milliseconds):
  notice    plan written -> old child gets SIGTERM (inotify, decision, state.json)
  downtime  old child exited -> new child started (the switch itself, without the child's
            own shutdown time)
  total     plan written -> new child started
Prints one JSON object per trial on stdout. Python 3 standard library only.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time


def version_copy(child, path, version):
    shutil.copyfile(child, path)
    with open(path, "ab") as handle:
        handle.write(f"\nVISOR_BENCH_VERSION={version}\n".encode())
    os.chmod(path, 0o755)


def times(path):
    entries = []
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                label, _, value = line.strip().partition(" ")
                if value:
                    entries.append((label, int(value)))
    except FileNotFoundError:
        pass
    return entries


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.002)
    raise RuntimeError(f"timed out waiting for {what}")


def run(command, **kwargs):
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, **kwargs)


def trial(args, number):
    base = os.path.join(args.work, f"switch-{number}")
    shutil.rmtree(base, ignore_errors=True)
    for folder in ("v1", "v2"):
        os.makedirs(os.path.join(base, folder))
    version_copy(args.child, os.path.join(base, "v1", "node"), "1.0.0")
    version_copy(args.child, os.path.join(base, "v2", "node"), "2.0.0")
    home = os.path.join(base, "home")
    run([args.visor, "init", "--home", home, "--import", os.path.join(base, "v1", "node")])
    run([args.visor, "add-upgrade", "2.0.0", os.path.join(base, "v2", "node"), "--home", home])
    info = os.path.join(base, "upgrade-info.json")
    log = os.path.join(base, "times")
    with open(os.path.join(base, "visor.log"), "w", encoding="utf-8") as output:
        visor = subprocess.Popen(
            [args.visor, "wrap", "--home", home, "--source", "cosmos", "--upgrade-info", info,
             "--healthy-after", "1s", "--cmd",
             f"{os.path.join(base, 'v1', 'node')} --times {log} --shutdown-ms {args.shutdown_ms}"],
            stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: len([e for e in times(log) if e[0] == "start"]) == 1, 15, "the first child")
        time.sleep(0.2)  # let visor settle into running
        with open(info + ".tmp", "w", encoding="utf-8") as handle:
            handle.write(json.dumps({"name": "v2.0.0", "height": 1000 + number, "info": ""}))
        written = time.monotonic_ns()
        os.rename(info + ".tmp", info)
        wait_for(lambda: len([e for e in times(log) if e[0] == "start"]) == 2, 15, "the new child")
    finally:
        visor.send_signal(signal.SIGTERM)
        try:
            visor.wait(timeout=10)
        except subprocess.TimeoutExpired:
            visor.kill()
            visor.wait()
    entries = times(log)
    starts = [value for label, value in entries if label == "start"]
    term = next(value for label, value in entries if label == "term")
    exited = next(value for label, value in entries if label == "exit")
    target = os.readlink(os.path.join(home, "current"))
    if target != "upgrades/2.0.0":
        raise RuntimeError(f"trial {number}: current -> {target}, not upgrades/2.0.0")
    shutil.rmtree(base, ignore_errors=True)
    return {
        "trial": number,
        "notice_ms": (term - written) / 1e6,
        "shutdown_ms": (exited - term) / 1e6,
        "downtime_ms": (starts[1] - exited) / 1e6,
        "total_ms": (starts[1] - written) / 1e6,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visor", required=True)
    parser.add_argument("--child", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--shutdown-ms", type=int, default=0)
    args = parser.parse_args()
    for number in range(args.trials):
        try:
            print(json.dumps(trial(args, number)), flush=True)
        except (RuntimeError, subprocess.CalledProcessError, StopIteration) as error:
            sys.exit(f"switch_bench.py: trial {number}: {error}")


if __name__ == "__main__":
    main()
