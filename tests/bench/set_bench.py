#!/usr/bin/env python3
"""Idle cost of a service set: one visor with N children beside N single-child visors.

    set_bench.py --visor PATH --work DIR [--sizes 1,3,10] [--seconds N] [--settle S]
                 [--child-command "sleep 1000"]

For every N of --sizes, starts at the same time (all side by side, idle):
  - one `visor wrap --home DIR/set-N --child c1=CMD ... --child cN=CMD`, and
  - N `visor wrap --home DIR/single-N-i --cmd CMD`.
Once every visor has started its children and --settle seconds have passed, a window of
--seconds begins. Measured per visor process (not its children), as tests/bench/idle_bench.py
measures one wrapper: memory at the end of the window from /proc/<pid>/smaps_rollup (Rss, Pss,
Private_Dirty), CPU over the window from /proc/<pid>/task/*/schedstat, wake-ups as voluntary +
nonvoluntary context switches of all threads over the window. The N single visors are added up.
Prints one JSON object per group on stdout:
  {"n": 3, "kind": "set" | "singles", "visors": 1 | 3, "rss_kib", "pss_kib",
   "private_dirty_kib", "cpu_ns", "wakeups", "threads", "window_s", "commands": [...]}
Python 3 standard library only.
"""

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from idle_bench import children, memory, sample  # noqa: E402  (same folder)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visor", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--sizes", default="1,3,10")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--settle", type=float, default=2)
    parser.add_argument("--child-command", default="sleep 1000")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    command = args.child_command

    # (group key, expected children, argv)
    launches = []
    for n in sizes:
        argv = [args.visor, "wrap", "--home", os.path.join(args.work, f"set-{n}")]
        for index in range(1, n + 1):
            argv += ["--child", f"c{index}={command}"]
        launches.append(((n, "set"), n, argv))
        for index in range(1, n + 1):
            home = os.path.join(args.work, f"single-{n}-{index}")
            launches.append(((n, "singles"), 1, [args.visor, "wrap", "--home", home, "--cmd", command]))

    running = []
    for key, expected, argv in launches:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        running.append((key, expected, argv, process))
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all(len(children(p.pid)) >= expected for _, expected, _, p in running):
                break
            if any(p.poll() is not None for _, _, _, p in running):
                break
            time.sleep(0.05)
        for key, expected, argv, process in running:
            if process.poll() is not None:
                sys.exit(f"set_bench.py: {shlex.join(argv)} exited early with {process.returncode}")
            if len(children(process.pid)) < expected:
                sys.exit(f"set_bench.py: {shlex.join(argv)} started {len(children(process.pid))} "
                         f"of {expected} children within 30 s")
        time.sleep(args.settle)
        before = {process.pid: sample(process.pid) for _, _, _, process in running}
        started = time.monotonic()
        time.sleep(args.seconds)
        window = time.monotonic() - started
        groups = {}
        for key, _, argv, process in running:
            after = sample(process.pid)
            used = memory(process.pid)
            group = groups.setdefault(key, {
                "n": key[0], "kind": key[1], "visors": 0, "rss_kib": 0, "pss_kib": 0,
                "private_dirty_kib": 0, "cpu_ns": 0, "wakeups": 0, "threads": 0,
                "window_s": round(window, 2), "commands": []})
            group["visors"] += 1
            group["rss_kib"] += used["rss_kib"]
            group["pss_kib"] += used["pss_kib"]
            group["private_dirty_kib"] += used["private_dirty_kib"]
            group["cpu_ns"] += after["run_ns"] - before[process.pid]["run_ns"]
            group["wakeups"] += after["switches"] - before[process.pid]["switches"]
            group["threads"] += after["threads"]
            if len(group["commands"]) < 1:
                group["commands"].append(shlex.join(argv))
        for n in sizes:
            for kind in ("set", "singles"):
                print(json.dumps(groups[(n, kind)]), flush=True)
    finally:
        for _, _, _, process in running:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for _, _, _, process in running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


if __name__ == "__main__":
    main()
