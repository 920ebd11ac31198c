#!/usr/bin/env bash
# visor against its peers, side by side, in one run; writes a Markdown report with ratios.
#   1. idle overhead: visor wrap vs tini, dumb-init, supervisord, all supervising `sleep 1000`
#   2. signal forwarding latency: SIGUSR1 to the wrapper -> handler in the child
#   3. spawn latency: wrapper + `true`, whole-process time (hyperfine)
#   4. switch downtime with a pre-staged binary (Cosmos upgrade-info.json)
#   5. fetch + verify throughput and peak RSS vs curl | sha256sum (tests/bench/fetch_bench.sh)
#   6. Cosmos halt to new node running: plan pre-staged via --node vs fetched at the halt at
#      20 MB/s (tests/bench/halt_bench.py)
#   7. service sets: idle RSS and wake-ups of one visor with 1, 3 and 10 children beside as many
#      single-child visors (tests/bench/set_bench.py)
#
# Usage: scripts/bench.sh [SECTION...]   sections: idle signal spawn switch fetch halt sets
#                                        (default: all)
#   BENCH_IDLE_SECONDS=60   idle window (also of the sets section)
#   BENCH_SET_SIZES=1,3,10  children per set in the sets section
#   BENCH_SIGNALS=1000      signals per run (3 runs per contender, interleaved)
#   BENCH_SPAWN_RUNS=300    hyperfine runs per contender
#   BENCH_SWITCH_TRIALS=30  switches (each in a fresh home)
#   BENCH_FETCH_MIB=256     size of the fetch benchmark's file
#   BENCH_HALT_TRIALS=3     halts per mode (each in a fresh home)
#   BENCH_HALT_MIB=100      size of the node binary in the halt benchmark
#   BENCH_BUILD_DIR=build-bench   where visor and the bench programs are built (RelWithDebInfo)
#   BENCH_REPORT=<build>/bench-report.md
# Installs its tools with scripts/install-deps.sh --bench. Results go to the report and stdout;
# docs/benchmarks.md holds the reviewed figures of one run.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

scripts/install-deps.sh --bench

build="${BENCH_BUILD_DIR:-build-bench}"
idle_seconds="${BENCH_IDLE_SECONDS:-60}"
signals="${BENCH_SIGNALS:-1000}"
spawn_runs="${BENCH_SPAWN_RUNS:-300}"
switch_trials="${BENCH_SWITCH_TRIALS:-30}"
fetch_mib="${BENCH_FETCH_MIB:-256}"
halt_trials="${BENCH_HALT_TRIALS:-3}"
halt_mib="${BENCH_HALT_MIB:-100}"
set_sizes="${BENCH_SET_SIZES:-1,3,10}"
sections=("$@")
[ ${#sections[@]} -gt 0 ] || sections=(idle signal spawn switch fetch halt sets)

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVISOR_SANITIZE=OFF -DVISOR_TSAN=OFF \
  -DVISOR_FUZZ=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target visor visor-bench-child visor-signal-bench visor-fetch-bench
visor="$root/$build/visor"
child="$root/$build/tests/visor-bench-child"
signal_bench="$root/$build/tests/visor-signal-bench"
report="${BENCH_REPORT:-$root/$build/bench-report.md}"

work="$(mktemp -d /var/tmp/visor-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT

say() { printf '%s\n' "$*" | tee -a "$report"; }
: > "$report"
say "# visor benchmark run, $(date -u +%Y-%m-%dT%H:%MZ)"
say ""
say "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), kernel $(uname -r)"
say "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
say "- visor $("$visor" version | cut -d' ' -f2) ($build, RelWithDebInfo: -O2 -g), tini $(tini --version | awk '{print $3}'), dumb-init $(dumb-init --version 2>&1 | awk '{print $2}'), supervisord $(supervisord --version), hyperfine $(hyperfine --version | awk '{print $2}')"
say ""

# --- 1. idle overhead -------------------------------------------------------------------------
idle() {
  say "## Idle overhead (supervising \`sleep 1000\`, ${idle_seconds} s window, all four side by side)"
  say ""
  mkdir -p "$work/idle/home"
  cat > "$work/idle/supervisord.conf" <<EOF
[supervisord]
nodaemon=true
logfile=$work/idle/supervisord.log
pidfile=$work/idle/supervisord.pid
childlogdir=$work/idle
[program:sleep]
command=sleep 1000
autorestart=true
EOF
  python3 tests/bench/idle_bench.py --seconds "$idle_seconds" --pmap-dir "$work/idle/pmap" \
    "visor=$visor wrap --home $work/idle/home --cmd 'sleep 1000'" \
    "tini=tini -- sleep 1000" \
    "dumb-init=dumb-init sleep 1000" \
    "supervisord=supervisord -n -c $work/idle/supervisord.conf" > "$work/idle/results.jsonl"
  python3 - "$work/idle/results.jsonl" <<'EOF' | tee -a "$report"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
visor = next(r for r in rows if r["name"] == "visor")
def ratio(a, b):
    return "—" if b == 0 else f"{a / b:.2f}"
print("| wrapper | RSS | private dirty | anonymous | private clean | threads | CPU (utime+stime) | CPU (schedstat) | wakeups | visor/peer RSS | visor/peer private dirty |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['name']} | {r['rss_kib'] / 1024:.2f} MiB | {r['private_dirty_kib'] / 1024:.2f} MiB | "
          f"{r['anonymous_kib'] / 1024:.2f} MiB | {r['private_clean_kib'] / 1024:.2f} MiB | {r['threads']} | {r['cpu_s']:.2f} s | "
          f"{r['cpu_ns'] / 1e6:.3f} ms | {r['wakeups']} | {ratio(visor['rss_kib'], r['rss_kib'])} | "
          f"{ratio(visor['private_dirty_kib'], r['private_dirty_kib'])} |")
print()
print("Private dirty (= anonymous here) is memory only this process holds. Private clean is file-backed")
print("pages (library code) that no other process maps at that moment; it depends on what else runs.")
print()
print(f"Window: {visor['window_s']} s. Commands: " + "; ".join(f"`{r['command']}`" for r in rows) + ".")
EOF
  say ""
  say "Where visor's RSS goes (\`pmap -x\`, largest resident mappings, KiB):"
  say ""
  say '```'
  say "RSS  dirty  file (all mappings of one file added up)"
  awk 'NR > 2 && $1 != "total" && $3 ~ /^[0-9]+$/ {
         name = $6; for (i = 7; i <= NF; i++) name = name " " $i; if (name == "") name = "[anon]"
         rss[name] += $3; dirty[name] += $4 }
       END { for (n in rss) printf "%5d %5d  %s\n", rss[n], dirty[n], n }' "$work/idle/pmap/visor.pmap" |
    sort -n -r | head -15 | tee -a "$report"
  grep '^total' "$work/idle/pmap/visor.pmap" | tee -a "$report"
  say '```'
  say ""
  say "The same libraries without visor's code: a C program that only calls pause(), linked against"
  say "them one group at a time (\`gcc idle.c -Wl,--no-as-needed -l...\`), RSS / private dirty:"
  say ""
  printf 'int main(void) { pause(); return 0; }\n' | sed '1i #include <unistd.h>' > "$work/idle/idle.c"
  say "| linked with | shared libraries | RSS | private dirty |"
  say "|---|---|---|---|"
  # The last two rows are what visor no longer links (sd_notify written in visor; spdlog and fmt
  # compiled in header-only), for the record of what they cost.
  for libs in "" "-lcurl" "-larchive" "-lcrypto" "-lstdc++" "-lcurl -larchive -lcrypto -lstdc++" \
      "-lsystemd" "-lspdlog -lfmt"; do
    # shellcheck disable=SC2086  # $libs is a list of flags
    gcc -O2 "$work/idle/idle.c" -o "$work/idle/idle" -Wl,--no-as-needed $libs
    "$work/idle/idle" & idle_pid=$!
    sleep 0.3
    say "| ${libs:-libc only} | $(ldd "$work/idle/idle" | wc -l) | $(awk '/^Rss:/ {printf "%.2f MiB", $2 / 1024}' /proc/$idle_pid/smaps_rollup) | $(awk '/^Private_Dirty:/ {printf "%.2f MiB", $2 / 1024}' /proc/$idle_pid/smaps_rollup) |"
    kill "$idle_pid"; wait "$idle_pid" 2>/dev/null || true
  done
  say ""
  say "Shared libraries linked by visor (\`ldd\`): $(ldd "$visor" | wc -l); size of the binary: $(du -k "$visor" | cut -f1) KiB ($(size "$visor" | awk 'NR == 2 {printf "text %d KiB, data %d KiB, bss %d KiB", $1 / 1024, $2 / 1024, $3 / 1024}'))."
  say ""
}

# --- 2. signal forwarding latency -------------------------------------------------------------
signal_latency() {
  say "## Signal forwarding latency (SIGUSR1 to the wrapper -> the child's handler; ${signals} signals x 3 runs)"
  say ""
  mkdir -p "$work/signal/home"
  fifo="$work/signal/fifo"
  : > "$work/signal/results.txt"
  for run in 1 2 3; do
    for name in visor tini dumb-init; do
      case "$name" in
        visor) command=("$visor" wrap --home "$work/signal/home" --cmd "$child --signal-fifo $fifo") ;;
        tini) command=(tini -- "$child" --signal-fifo "$fifo") ;;
        dumb-init) command=(dumb-init "$child" --signal-fifo "$fifo") ;;
      esac
      line="$("$signal_bench" --fifo "$fifo" --count "$signals" -- "${command[@]}" 2>>"$work/signal/stderr")"
      echo "$name $run $line" >> "$work/signal/results.txt"
    done
  done
  python3 - "$work/signal/results.txt" <<'EOF' | tee -a "$report"
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, _, *fields = line.split()
    values = dict(field.split("=") for field in fields)
    runs.setdefault(name, []).append({k: float(v) for k, v in values.items()})
def mid(name, key):
    return statistics.median(r[key] for r in runs[name])
visor_median, visor_p99 = mid("visor", "median_us"), mid("visor", "p99_us")
print("| wrapper | median | p90 | p99 | max | visor/peer median | visor/peer p99 |")
print("|---|---|---|---|---|---|---|")
for name in runs:
    print(f"| {name} | {mid(name, 'median_us'):.1f} µs | {mid(name, 'p90_us'):.1f} µs | {mid(name, 'p99_us'):.1f} µs | "
          f"{max(r['max_us'] for r in runs[name]):.0f} µs | {visor_median / mid(name, 'median_us'):.2f} | "
          f"{visor_p99 / mid(name, 'p99_us'):.2f} |")
print()
print("Each figure is the median over the 3 runs (max: the largest single signal). Raw runs:")
print()
for line in open(sys.argv[1]):
    print("    " + line.rstrip())
EOF
  say ""
  say "Commands: \`visor-signal-bench --fifo F --count $signals -- <wrapper> visor-bench-child --signal-fifo F\` with"
  say "\`visor wrap --home H --cmd '...'\`, \`tini -- ...\`, \`dumb-init ...\`."
  say ""
}

# --- 3. spawn latency ------------------------------------------------------------------------
spawn_latency() {
  say "## Spawn latency (wrapper + \`true\`, whole process; hyperfine, ${spawn_runs} runs)"
  say ""
  mkdir -p "$work/spawn/home"
  shm_home="$(mktemp -d /dev/shm/visor-bench.XXXXXX)"
  hyperfine -N --warmup 20 --runs "$spawn_runs" --export-json "$work/spawn/results.json" \
    -n visor "$visor wrap --restart never --home $work/spawn/home --cmd true" \
    -n "visor, home on tmpfs" "$visor wrap --restart never --home $shm_home --cmd true" \
    -n "visor version (start-up only)" "$visor version" \
    -n tini "tini -- true" \
    -n dumb-init "dumb-init true" \
    -n "true (no wrapper)" "true" > "$work/spawn/hyperfine.txt" 2>&1 || { cat "$work/spawn/hyperfine.txt"; return 1; }
  rm -rf "$shm_home"
  python3 - "$work/spawn/results.json" <<'EOF' | tee -a "$report"
import json, sys
results = json.load(open(sys.argv[1]))["results"]
visor = next(r for r in results if r["command"] == "visor")
print("| wrapper | mean | median | min | max | user | system | visor/peer (median) |")
print("|---|---|---|---|---|---|---|---|")
for r in results:
    print(f"| {r['command']} | {r['mean'] * 1e3:.2f} ms ± {r['stddev'] * 1e3:.2f} | {r['median'] * 1e3:.2f} ms | "
          f"{r['min'] * 1e3:.2f} ms | {r['max'] * 1e3:.2f} ms | {r['user'] * 1e3:.2f} ms | {r['system'] * 1e3:.2f} ms | "
          f"{visor['median'] / r['median']:.2f} |")
EOF
  say ""
  say "Commands: \`hyperfine -N --warmup 20 --runs $spawn_runs 'visor wrap --restart never --home H --cmd true' 'tini -- true' 'dumb-init true' true\`."
  say "The home is on /var/tmp (a real disk): visor's runs include its state writes with fsync; the"
  say "tmpfs row shows visor without the cost of fsync, and \`visor version\` the cost of starting the"
  say "binary at all (loading its shared libraries)."
  say ""
}

# --- 4. switch downtime ----------------------------------------------------------------------
switch_downtime() {
  say "## Switch downtime with a pre-staged binary (${switch_trials} switches each)"
  say ""
  : > "$work/switch.jsonl"
  for place in disk tmpfs; do
    if [ "$place" = disk ]; then where="$work/switch"; else where="$(mktemp -d /dev/shm/visor-bench.XXXXXX)"; fi
    mkdir -p "$where"
    python3 tests/bench/switch_bench.py --visor "$visor" --child "$child" --work "$where" \
      --trials "$switch_trials" | sed "s/^{/{\"place\": \"$place\", /" >> "$work/switch.jsonl"
    [ "$place" = disk ] || rm -rf "$where"
  done
  python3 - "$work/switch.jsonl" <<'EOF' | tee -a "$report"
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
def q(values, fraction):
    values = sorted(values)
    return values[min(len(values) - 1, int(fraction * (len(values) - 1) + 0.5))]
print("| home on | what | median | p90 | max |")
print("|---|---|---|---|---|")
for place, label in (("disk", "/var/tmp (ext4/virtio disk: fsync costs)"), ("tmpfs", "/dev/shm (tmpfs: fsync is free)")):
    sel = [r for r in rows if r["place"] == place]
    for key, what in (("downtime_ms", "**downtime**: old child exited -> new child started"),
                      ("notice_ms", "plan written -> old child gets SIGTERM"),
                      ("shutdown_ms", "the child's own shutdown (excluded from downtime)"),
                      ("total_ms", "plan written -> new child started")):
        values = [r[key] for r in sel]
        print(f"| {label} | {what} | {statistics.median(values):.2f} ms | {q(values, 0.9):.2f} ms | {max(values):.2f} ms |")
EOF
  say ""
  say "Command per trial: \`visor init --import v1/node\`, \`visor add-upgrade 2.0.0 v2/node\`, then"
  say "\`visor wrap --home H --source cosmos --upgrade-info F --healthy-after 1s --cmd 'v1/node --times T'\`"
  say "and F written (rename) with \`{\"name\":\"v2.0.0\",\"height\":N,\"info\":\"\"}\`; see tests/bench/switch_bench.py."
  say "No peer: Cosmovisor (the program that does this job) is not packaged in Debian 12."
  say ""
}

# --- 5. fetch + verify ------------------------------------------------------------------------
fetch() {
  say "## Fetch and verify (${fetch_mib} MiB, tests/bench/fetch_bench.sh)"
  say ""
  SIZE_MIB="$fetch_mib" tests/bench/fetch_bench.sh "$root/$build/tests/visor-fetch-bench" > "$work/fetch.txt" 2>&1 || {
    cat "$work/fetch.txt"; return 1; }
  grep -E '^\||^visor throughput|^server|^machine|runs' "$work/fetch.txt" | tee -a "$report"
  say ""
}

# --- 6. halt to running: pre-staged vs fetched at the halt ------------------------------------
halt_to_running() {
  say "## Cosmos halt to new node running: pre-staged through --node vs fetched at the halt"
  say ""
  python3 tests/bench/halt_bench.py --visor "$visor" --child "$child" --work "$work/halt" \
    --trials "$halt_trials" --size-mib "$halt_mib" > "$work/halt.jsonl"
  python3 - "$work/halt.jsonl" <<'EOF' | tee -a "$report"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
summary = next(row for row in rows if row.get("summary"))
print("| mode | median halt -> running (ms) | trials (ms) |")
print("|---|---|---|")
for mode, key in (("pre-staged (--node)", "prestaged"), ("fetched at the halt", "at-halt")):
    values = [row["halt_to_running_ms"] for row in rows if row.get("mode") == key]
    median = summary["prestaged_median_ms" if key == "prestaged" else "at_halt_median_ms"]
    print(f"| {mode} | {median:.0f} | {', '.join(f'{v:.0f}' for v in values)} |")
print()
print(f"ratio (fetched at the halt / pre-staged): {summary['ratio']:.0f}x, "
      f"{summary['size_mib']} MiB binary at {summary['rate'] / 1e6:.0f} MB/s")
EOF
  say ""
}

# --- 7. service sets: one visor with N children vs N visors -----------------------------------
service_sets() {
  say "## Service sets: one visor with N children beside N single-child visors (${idle_seconds} s window, all side by side)"
  say ""
  mkdir -p "$work/sets"
  python3 tests/bench/set_bench.py --visor "$visor" --work "$work/sets" --sizes "$set_sizes" \
    --seconds "$idle_seconds" > "$work/sets/results.jsonl"
  python3 - "$work/sets/results.jsonl" <<'EOF' | tee -a "$report"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
def mib(kib):
    return f"{kib / 1024:.2f} MiB"
def ratio(a, b):
    return "—" if b == 0 else f"{a / b:.2f}"
print("| children | set: RSS | set: PSS | set: private dirty | set: wake-ups | set: CPU | "
      "N visors: RSS (sum) | PSS (sum) | private dirty (sum) | wake-ups (sum) | CPU (sum) | "
      "set / N visors: RSS | PSS | wake-ups | aim: set RSS < 12 MiB + 0.1 MiB per extra child |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for n in sorted({r["n"] for r in rows}):
    s = next(r for r in rows if r["n"] == n and r["kind"] == "set")
    m = next(r for r in rows if r["n"] == n and r["kind"] == "singles")
    aim = 12 * 1024 + 0.1 * 1024 * (n - 1)
    verdict = f"{'met' if s['rss_kib'] < aim else 'missed'} ({mib(s['rss_kib'])} vs {mib(aim)})"
    print(f"| {n} | {mib(s['rss_kib'])} | {mib(s['pss_kib'])} | {mib(s['private_dirty_kib'])} | {s['wakeups']} | "
          f"{s['cpu_ns'] / 1e6:.3f} ms | {mib(m['rss_kib'])} | {mib(m['pss_kib'])} | {mib(m['private_dirty_kib'])} | "
          f"{m['wakeups']} | {m['cpu_ns'] / 1e6:.3f} ms | {ratio(s['rss_kib'], m['rss_kib'])} | "
          f"{ratio(s['pss_kib'], m['pss_kib'])} | {ratio(s['wakeups'], m['wakeups'])} | {verdict} |")
print()
one = next((r for r in rows if r["n"] == 1 and r["kind"] == "set"), None)
if one:
    for r in rows:
        if r["kind"] == "set" and r["n"] > 1:
            extra = r["n"] - 1
            print(f"- set of {r['n']}: {(r['rss_kib'] - one['rss_kib']) / extra:.0f} KiB of RSS and "
                  f"{(r['private_dirty_kib'] - one['private_dirty_kib']) / extra:.0f} KiB of private dirty "
                  f"memory per extra child")
    print()
print(f"Window: {rows[0]['window_s']} s. Commands: " +
      "; ".join(f"`{r['commands'][0]}`" + (f" (x{r['visors']})" if r["visors"] > 1 else "") for r in rows) + ".")
print("RSS of separate visors counts their shared library pages once per visor; PSS divides those pages")
print("among the processes that map them, so the PSS columns compare what each side costs the host.")
EOF
  say ""
}

for section in "${sections[@]}"; do
  case "$section" in
    idle) idle ;;
    signal) signal_latency ;;
    spawn) spawn_latency ;;
    switch) switch_downtime ;;
    fetch) fetch ;;
    halt) halt_to_running ;;
    sets) service_sets ;;
    *) echo "bench.sh: unknown section $section (idle signal spawn switch fetch halt sets)" >&2; exit 2 ;;
  esac
done
say "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench.sh: report written to $report"
