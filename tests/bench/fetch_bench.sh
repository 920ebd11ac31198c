#!/usr/bin/env bash
# Fetch-and-verify benchmark: visor's download() (stream to disk + SHA-256 in one pass, fsync,
# rename) against the shell pipeline `curl -s URL | sha256sum` on the same local file.
#
# Usage: tests/bench/fetch_bench.sh [PATH/TO/visor-fetch-bench]
#   SIZE_MIB=256  size of the random test file
#   RUNS=3        runs of each contender; the median is reported
#   WORK_DIR=...  where the test file and the download go (default: a new dir under /var/tmp,
#                 i.e. a real disk, so visor's fsync is paid as in production)
# Needs: curl, sha256sum, GNU time (/usr/bin/time, package "time"); a fast static file server:
# busybox httpd (package "busybox") or nginx; falls back to release_server.py (slower).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bench="${1:-}"
if [ -z "$bench" ]; then
  for candidate in "$root/build/tests/visor-fetch-bench" "$root/build/visor-fetch-bench"; do
    if [ -x "$candidate" ]; then bench="$candidate"; break; fi
  done
fi
if [ -z "$bench" ] || [ ! -x "$bench" ]; then
  echo "fetch_bench.sh: visor-fetch-bench not found; build it (target visor-fetch-bench) or pass its path" >&2
  exit 2
fi
[ -x /usr/bin/time ] || { echo "fetch_bench.sh: needs GNU time (apt-get install time)" >&2; exit 2; }

size_mib="${SIZE_MIB:-256}"
runs="${RUNS:-3}"
work="${WORK_DIR:-$(mktemp -d /var/tmp/visor-fetch-bench.XXXXXX)}"
mkdir -p "$work/www" "$work/out"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -z "${WORK_DIR:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

echo "creating a ${size_mib} MiB random file in $work/www"
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/www/artifact.bin"
expected="$(sha256sum "$work/www/artifact.bin" | cut -d' ' -f1)"

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
if busybox httpd --help >/dev/null 2>&1; then
  server="busybox httpd"
  busybox httpd -f -p "127.0.0.1:$port" -h "$work/www" &
  server_pid=$!
elif command -v nginx >/dev/null 2>&1; then
  server="nginx"
  cat > "$work/nginx.conf" <<EOF
daemon off; worker_processes 1; error_log stderr; pid $work/nginx.pid;
events {}
http { access_log off; sendfile on;
  server { listen 127.0.0.1:$port; root $work/www; } }
EOF
  nginx -c "$work/nginx.conf" -p "$work" &
  server_pid=$!
else
  server="release_server.py (python; install busybox for a faster server)"
  python3 "$root/tests/e2e/support/release_server.py" --dir "$work/www" --port "$port" > /dev/null &
  server_pid=$!
fi
url="http://127.0.0.1:$port/artifact.bin"
for _ in $(seq 50); do
  if curl -sfI "$url" > /dev/null 2>&1; then break; fi
  sleep 0.1
done
curl -sf "$url" -o /dev/null  # warm the page cache of the source file

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# The contenders take turns within each run, so that load from elsewhere hits all of them alike.
pipeline_times=()
pipeline_rss=()
openssl_times=()
visor_times=()
visor_rss=()
for _ in $(seq "$runs"); do
  /usr/bin/time -f "%e %M" -o "$work/time" sh -c "curl -s '$url' | sha256sum > '$work/pipeline.sum'"
  grep -q "$expected" "$work/pipeline.sum" || { echo "pipeline computed a wrong hash" >&2; exit 1; }
  read -r seconds rss < "$work/time"
  pipeline_times+=("$seconds"); pipeline_rss+=("$rss")

  # For reference: the same pipeline with OpenSSL's SHA-256 (which uses SHA-NI like visor;
  # coreutils' sha256sum does not).
  /usr/bin/time -f "%e %M" -o "$work/time" sh -c "curl -s '$url' | openssl dgst -sha256 > '$work/openssl.sum'"
  grep -q "$expected" "$work/openssl.sum" || { echo "openssl pipeline computed a wrong hash" >&2; exit 1; }
  read -r seconds _ < "$work/time"
  openssl_times+=("$seconds")

  rm -f "$work/out/artifact" "$work/out/artifact.part"
  /usr/bin/time -f "%e %M" -o "$work/time" "$bench" "$url" "$expected" "$work/out" > /dev/null
  read -r seconds rss < "$work/time"
  visor_times+=("$seconds"); visor_rss+=("$rss")
done

pipeline_s="$(printf '%s\n' "${pipeline_times[@]}" | median)"
visor_s="$(printf '%s\n' "${visor_times[@]}" | median)"
openssl_s="$(printf '%s\n' "${openssl_times[@]}" | median)"
pipeline_peak="$(printf '%s\n' "${pipeline_rss[@]}" | sort -n | tail -1)"
visor_peak="$(printf '%s\n' "${visor_rss[@]}" | sort -n | tail -1)"

echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "server: $server; file: ${size_mib} MiB; runs: $runs (median)"
echo "pipeline runs (s): ${pipeline_times[*]}"
echo "openssl runs (s):  ${openssl_times[*]}"
echo "visor runs (s):    ${visor_times[*]}"
awk -v size="$size_mib" -v p="$pipeline_s" -v v="$visor_s" -v o="$openssl_s" -v prss="$pipeline_peak" -v vrss="$visor_peak" 'BEGIN {
  printf "| contender | median wall | throughput | peak RSS |\n|---|---|---|---|\n"
  printf "| curl -s URL \\| sha256sum | %.2f s | %.0f MiB/s | %.1f MiB (largest process) |\n", p, size / p, prss / 1024
  printf "| curl -s URL \\| openssl dgst -sha256 (reference) | %.2f s | %.0f MiB/s | |\n", o, size / o
  printf "| visor-fetch-bench (download + verify + fsync + rename) | %.2f s | %.0f MiB/s | %.1f MiB |\n", v, size / v, vrss / 1024
  printf "visor throughput / sha256sum pipeline: %.2f; / openssl pipeline: %.2f\n", p / v, o / v
}'
