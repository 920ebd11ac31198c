#!/usr/bin/env python3
"""Idle overhead of process wrappers supervising the same idle program.

    idle_bench.py --seconds N [--settle S] [--pmap-dir DIR] NAME=COMMAND... [-- ...]

Each NAME=COMMAND (COMMAND split like a shell would, with shlex) is started at the same time,
all of them idle side by side. After every wrapper has started its child and `--settle`
seconds have passed, a window of `--seconds` begins. Measured for the wrapper process itself
(the program started, not its child):
  - memory at the end of the window, from /proc/<pid>/smaps_rollup: Rss, Pss, private
    (Private_Clean + Private_Dirty, and each alone) and Anonymous. Private_Dirty is memory the
    process alone owns (heap, stacks, relocated data); Private_Clean counts file pages (code of
    shared libraries) that no other process happens to map at that moment, so it varies with
    what else runs on the machine;
  - CPU over the window: utime + stime from /proc/<pid>/stat (all threads, in clock ticks),
    and the exact on-CPU nanoseconds of all threads from /proc/<pid>/task/*/schedstat;
  - wakeups over the window: voluntary + nonvoluntary context switches of all threads
    (/proc/<pid>/task/*/status; /proc/<pid>/status alone counts only the main thread).
Prints one JSON object per contender on stdout. With --pmap-dir, `pmap -x` of every wrapper at
the end of the window is saved there as <NAME>.pmap. Python 3 standard library only.
"""

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time

TICKS = os.sysconf("SC_CLK_TCK")


def read(path):
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def children(pid):
    try:
        return [int(x) for x in read(f"/proc/{pid}/task/{pid}/children").split()]
    except OSError:
        return []


def tasks(pid):
    try:
        return os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []


def sample(pid):
    """CPU ticks, on-CPU ns and context switches of all threads of `pid` so far."""
    stat = read(f"/proc/{pid}/stat")
    fields = stat[stat.rindex(")") + 2:].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    run_ns = 0
    switches = 0
    for task in tasks(pid):
        try:
            run_ns += int(read(f"/proc/{pid}/task/{task}/schedstat").split()[0])
            for line in read(f"/proc/{pid}/task/{task}/status").splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    switches += int(line.split()[1])
        except OSError:
            pass  # a thread that ended meanwhile
    return {"ticks": ticks, "run_ns": run_ns, "switches": switches, "threads": len(tasks(pid))}


def memory(pid):
    values = {}
    for line in read(f"/proc/{pid}/smaps_rollup").splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2 and parts[0].endswith(":"):
            values[parts[0][:-1]] = int(parts[1])  # kB
    return {
        "rss_kib": values.get("Rss", 0),
        "pss_kib": values.get("Pss", 0),
        "private_kib": values.get("Private_Clean", 0) + values.get("Private_Dirty", 0),
        "private_dirty_kib": values.get("Private_Dirty", 0),
        "private_clean_kib": values.get("Private_Clean", 0),
        "anonymous_kib": values.get("Anonymous", 0),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--settle", type=float, default=2)
    parser.add_argument("--pmap-dir")
    parser.add_argument("contenders", nargs="+", help="NAME=COMMAND")
    args = parser.parse_args()

    running = []
    for spec in args.contenders:
        name, _, command = spec.partition("=")
        process = subprocess.Popen(shlex.split(command), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        running.append((name, command, process))
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if all(children(p.pid) for _, _, p in running):
                break
            if any(p.poll() is not None for _, _, p in running):
                break
            time.sleep(0.05)
        for name, _, process in running:
            if process.poll() is not None:
                sys.exit(f"idle_bench.py: {name} exited early with {process.returncode}")
            if not children(process.pid):
                sys.exit(f"idle_bench.py: {name} started no child within 15 s")
        time.sleep(args.settle)
        before = {name: sample(p.pid) for name, _, p in running}
        started = time.monotonic()
        time.sleep(args.seconds)
        window = time.monotonic() - started
        for name, command, process in running:
            after = sample(process.pid)
            result = {
                "name": name,
                "command": command,
                "pid": process.pid,
                "window_s": round(window, 2),
                "cpu_s": (after["ticks"] - before[name]["ticks"]) / TICKS,
                "cpu_ns": after["run_ns"] - before[name]["run_ns"],
                "wakeups": after["switches"] - before[name]["switches"],
                "threads": after["threads"],
            }
            result.update(memory(process.pid))
            if args.pmap_dir:
                os.makedirs(args.pmap_dir, exist_ok=True)
                with open(os.path.join(args.pmap_dir, name + ".pmap"), "w", encoding="utf-8") as out:
                    subprocess.run(["pmap", "-x", str(process.pid)], stdout=out, check=False)
            print(json.dumps(result), flush=True)
    finally:
        for _, _, process in running:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for _, _, process in running:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


if __name__ == "__main__":
    main()
