#!/usr/bin/env bash
# A full upgrade, end to end, on this machine: a simulated Lava chain and a local release
# server with two versions of a stand-in `lavap`. visor supervises 5.2.1, the chain raises its
# target to 5.3.0, and visor downloads, verifies, switches and restarts. Ends by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target visor visor-test-child

work=$(mktemp -d /tmp/visor-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
arch=$(uname -m); case "$arch" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac

# A stand-in lavap: answers `lavap version`, otherwise "serves" until stopped.
stand_in() {
  cat <<SCRIPT
#!/bin/sh
if [ "\$1" = version ]; then echo "$1"; exit 0; fi
echo "lavap $1: provider serving (args: \$*)"
exec "$root/build/tests/visor-test-child" "\$@"
SCRIPT
}

say "a machine with lavap 5.2.1 installed, and a release server publishing 5.3.0"
mkdir -p "$work/bin" "$work/releases/v5.3.0"
stand_in 5.2.1 >"$work/bin/lavap"
artifact="lavap-v5.3.0-linux-$arch"
stand_in 5.3.0 >"$work/releases/v5.3.0/$artifact"
chmod +x "$work/bin/lavap" "$work/releases/v5.3.0/$artifact"
(cd "$work/releases/v5.3.0" && sha256sum "$artifact" >sha256sum.txt && cat sha256sum.txt)

params() { printf '{"params":{"version":{"provider_target":"%s","provider_min":"%s","consumer_target":"%s","consumer_min":"%s"}}}' "$2" "$1" "$2" "$1"; }
params 5.0.0 5.2.1 >"$work/params.json"

python3 tests/e2e/support/lava_chain.py --params "$work/params.json" >"$work/chain.out" 2>&1 &
pids+=($!)
python3 tests/e2e/support/release_server.py --dir "$work/releases" --log "$work/requests.log" >"$work/releases.out" 2>&1 &
pids+=($!)
port_of() { for _ in $(seq 100); do grep -q '^PORT ' "$1" 2>/dev/null && { awk '/^PORT /{print $2; exit}' "$1"; return; }; sleep 0.1; done; echo "server did not start: $(cat "$1")" >&2; exit 1; }
chain=$(port_of "$work/chain.out")
releases=$(port_of "$work/releases.out")
echo "Lava REST on 127.0.0.1:$chain (target 5.2.1), releases on 127.0.0.1:$releases"

say "visor wrap --source lava (the stand-in binary is imported into the store)"
PATH="$work/bin:$PATH" build/visor wrap --home "$work/home" \
  --source lava --lava-rest "http://127.0.0.1:$chain" --poll-interval 1s \
  --download-url "http://127.0.0.1:$releases/v{version}/lavap-v{version}-{os}-{arch}" \
  --checksum-url "http://127.0.0.1:$releases/v{version}/sha256sum.txt" --allow-http \
  --healthy-after 3s --stop-timeout 10s \
  --cmd "lavap rpcprovider provider.yml --geolocation 1" >"$work/visor.log" 2>&1 &
visor=$!
pids+=($visor)
wait_for() { for _ in $(seq 300); do grep -q "$1" "$work/visor.log" && return 0; sleep 0.1; done; cat "$work/visor.log"; echo "timed out waiting for: $1" >&2; exit 1; }
wait_for "lavap 5.2.1: provider serving"
cat "$work/visor.log"

say "the chain raises provider_target to 5.3.0"
params 5.0.0 5.3.0 >"$work/params.json"
wait_for "upgrade from 5.2.1 to 5.3.0 succeeded"
echo "--- visor's log since the target moved:"
sed -n '/source_decision\|provider_target\|fetching/,$p' "$work/visor.log"

say "visor status"
build/visor status --home "$work/home"

say "stopping visor (SIGTERM is forwarded; visor exits with the child's status)"
kill -TERM "$visor"
code=0; wait "$visor" || code=$?
echo "visor exited with $code"
say "demo finished"
