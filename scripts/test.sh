#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit and end-to-end) through ctest;
# then the same suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
#   VISOR_SKIP_ASAN=1  skip the sanitizer pass (for a quick local loop)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --ops

jobs=$(nproc)
run_suite() {
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 300)
}

echo "== build and test (RelWithDebInfo)"
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo

if [ "${VISOR_SKIP_ASAN:-0}" != 1 ]; then
  echo "== build and test under ASan+UBSan"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DVISOR_SANITIZE=ON
fi
echo "== all tests passed"
