#!/usr/bin/env bash
# Builds visor and its tests with ThreadSanitizer (in build-tsan) and runs the unit and
# end-to-end tests under it. visor runs a download worker and a source-poll worker beside the
# io_context thread; TSan checks what they share. scripts/test.sh (and so CI) runs it after the
# ASan+UBSan pass; run it by hand to check threads alone.
#   VISOR_TSAN_DIR=build-tsan   the build folder
#   extra arguments are passed to ctest (e.g. -R Upgrade, -L unit)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

scripts/install-deps.sh --ops

dir="${VISOR_TSAN_DIR:-build-tsan}"
jobs=$(nproc)
started=$(date +%s)
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVISOR_TSAN=ON -DVISOR_SANITIZE=OFF >/dev/null
cmake --build "$dir" -j "$jobs"
built=$(date +%s)
# Every report of every process (the test binaries and each visor they start, whose output the
# e2e tests keep in temporary logs) also goes to $dir/tsan-reports/, checked after the run;
# halt_on_error makes the reporting process exit 66, which fails the test as well.
reports="$root/$dir/tsan-reports"
rm -rf "$reports" && mkdir -p "$reports"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$reports/report ${TSAN_OPTIONS:-}"
status=0
(cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 600 "$@") || status=$?
if [ -n "$(ls -A "$reports")" ]; then
  echo "tsan.sh: ThreadSanitizer reports in $reports:" >&2
  cat "$reports"/* >&2
  status=1
fi
finished=$(date +%s)
echo "tsan.sh: build $((built - started)) s, tests $((finished - built)) s, exit $status"
exit "$status"
