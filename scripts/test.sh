#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit and end-to-end) through ctest;
# then the same suite under AddressSanitizer + UndefinedBehaviorSanitizer and under
# ThreadSanitizer, the chaos harness (hostile input against running visors for
# VISOR_CHAOS_SECONDS, default 60; set it higher for a soak), a smoke run of every fuzz target,
# and the static checks.
#   VISOR_SKIP_ASAN=1, VISOR_SKIP_TSAN=1, VISOR_SKIP_CHAOS=1, VISOR_SKIP_FUZZ=1,
#   VISOR_SKIP_STATIC=1 skip a pass (for a quick local loop); CI runs them all.
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

if [ "${VISOR_SKIP_CHAOS:-0}" != 1 ]; then
  echo "== chaos harness (${VISOR_CHAOS_SECONDS:-60} s)"
  python3 tests/chaos/chaos.py --build build --seconds "${VISOR_CHAOS_SECONDS:-60}"
fi

if [ "${VISOR_SKIP_ASAN:-0}" != 1 ]; then
  echo "== build and test under ASan+UBSan"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DVISOR_SANITIZE=ON
fi
if [ "${VISOR_SKIP_TSAN:-0}" != 1 ]; then
  echo "== build and test under ThreadSanitizer (visor runs worker threads)"
  scripts/tsan.sh
fi

if [ "${VISOR_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzz smoke (10 s per target)"
  scripts/fuzz.sh 10
fi

if [ "${VISOR_SKIP_STATIC:-0}" != 1 ]; then
  echo "== static checks (clang-tidy, cppcheck)"
  scripts/static-checks.sh
fi
echo "== all tests passed"
