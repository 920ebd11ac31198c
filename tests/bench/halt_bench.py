#!/usr/bin/env python3
"""Time from a Cosmos halt to the new node running: plan pre-staged through --node, versus the
binary fetched at the halt (what Cosmovisor pays), from a local server throttled to 20 MB/s.

    halt_bench.py --visor PATH --child PATH --work DIR [--trials N] [--size-mib M]
                  [--rate BYTES_PER_SECOND]

Per trial and mode, in a fresh home: visor-bench-child copies named `node` answer `version`
with 1.0.0 and 2.0.0 (a version trailer; the 2.0.0 copy is padded to --size-mib MiB, the size
of a real Cosmos node binary); 1.0.0 is imported and runs under `visor wrap --profile cosmos`.
The 2.0.0 binary is published on tests/e2e/support/release_server.py (--rate) and named, with
its SHA-256, in the plan's `info` binaries map.
  prestaged  visor also reads the chain through --node (tests/e2e/support/cometbft_node.py,
             which schedules the plan): the benchmark waits until 2.0.0 is staged, then halts.
  at-halt    no --node: visor learns the plan from upgrade-info.json alone and downloads then.
The halt is upgrade-info.json renamed into place; reported is the time from then to the new
child's start (CLOCK_MONOTONIC, logged by the child). Prints one JSON object per trial and a
summary with the ratio. Python 3 standard library only.
"""

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

SUPPORT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e", "support")


def version_copy(child, path, version, size=0):
    shutil.copyfile(child, path)
    with open(path, "ab") as handle:
        padding = size - os.path.getsize(path) - 64
        if padding > 0:
            handle.write(os.urandom(padding))
        handle.write(f"\nVISOR_BENCH_VERSION={version}\n".encode())
    os.chmod(path, 0o755)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def starts(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return [int(line.split()[1]) for line in handle if line.startswith("start ")]
    except FileNotFoundError:
        return []


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.002)
    raise RuntimeError(f"timed out waiting for {what}")


def server(script, arguments, log):
    process = subprocess.Popen([sys.executable, os.path.join(SUPPORT, script)] + arguments,
                               stdout=subprocess.PIPE, stderr=open(log, "w"), text=True)
    line = process.stdout.readline().split()
    if len(line) != 2 or line[0] != "PORT":
        process.kill()
        raise RuntimeError(f"{script} did not start")
    return process, f"http://127.0.0.1:{line[1]}"


def stop(process):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def trial(args, number, mode):
    base = os.path.join(args.work, f"halt-{mode}-{number}")
    shutil.rmtree(base, ignore_errors=True)
    for folder in ("v1", "releases/v2", "data"):
        os.makedirs(os.path.join(base, folder))
    version_copy(args.child, os.path.join(base, "v1", "node"), "1.0.0")
    artifact = os.path.join(base, "releases", "v2", "node")
    version_copy(args.child, artifact, "2.0.0", args.size_mib << 20)
    releases, releases_url = server(
        "release_server.py", ["--dir", os.path.join(base, "releases"), "--rate", str(args.rate)],
        os.path.join(base, "releases.log"))
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
    url = f"{releases_url}/v2/node?checksum=sha256:{sha256(artifact)}"
    plan = {"name": "v2.0.0", "height": 1000,
            "info": json.dumps({"binaries": {f"linux/{arch}": url}})}
    control = os.path.join(base, "control.json")
    with open(control, "w", encoding="utf-8") as handle:
        json.dump({"chain_id": "bench-1", "height": 900, "plan": plan}, handle)
    node, node_url = server("cometbft_node.py", ["--control", control],
                            os.path.join(base, "node.log"))
    home = os.path.join(base, "home")
    subprocess.run([args.visor, "init", "--home", home, "--import",
                    os.path.join(base, "v1", "node")], check=True, stdout=subprocess.DEVNULL)
    info = os.path.join(base, "data", "upgrade-info.json")
    times = os.path.join(base, "times")
    command = [args.visor, "wrap", "--home", home, "--profile", "cosmos", "--upgrade-info", info,
               "--allow-http", "--healthy-after", "1s", "--cmd",
               f"{os.path.join(base, 'v1', 'node')} --times {times}"]
    if mode == "prestaged":
        command += ["--node", node_url, "--poll-interval", "500ms"]
    visor = subprocess.Popen(command, stdout=open(os.path.join(base, "visor.log"), "w"),
                             stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: len(starts(times)) == 1, 15, "the first child")
        if mode == "prestaged":
            staged = os.path.join(home, "upgrades", "2.0.0", "node")
            wait_for(lambda: os.path.exists(staged), 600, "the plan's binary to be pre-staged")
        time.sleep(0.2)
        with open(info + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(plan, handle)
        halted = time.monotonic_ns()
        os.rename(info + ".tmp", info)
        wait_for(lambda: len(starts(times)) == 2, 600, "the new child")
    finally:
        stop(visor)
        stop(node)
        stop(releases)
    result = {"trial": number, "mode": mode,
              "halt_to_running_ms": (starts(times)[1] - halted) / 1e6}
    shutil.rmtree(base, ignore_errors=True)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visor", required=True)
    parser.add_argument("--child", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--size-mib", type=int, default=100)
    parser.add_argument("--rate", type=int, default=20 * 1000 * 1000)
    args = parser.parse_args()
    totals = {"prestaged": [], "at-halt": []}
    for number in range(args.trials):
        for mode in ("prestaged", "at-halt"):
            try:
                result = trial(args, number, mode)
            except (RuntimeError, subprocess.CalledProcessError) as error:
                sys.exit(f"halt_bench.py: {mode} trial {number}: {error}")
            totals[mode].append(result["halt_to_running_ms"])
            print(json.dumps(result), flush=True)
    median = {mode: sorted(values)[len(values) // 2] for mode, values in totals.items()}
    print(json.dumps({"summary": True, "size_mib": args.size_mib, "rate": args.rate,
                      "prestaged_median_ms": median["prestaged"],
                      "at_halt_median_ms": median["at-halt"],
                      "ratio": median["at-halt"] / median["prestaged"]}), flush=True)


if __name__ == "__main__":
    main()
