#!/usr/bin/env bash
# Builds visor and its tests with ThreadSanitizer (in build-tsan) and runs the unit and
# end-to-end tests under it. visor runs a download worker and a source-poll worker beside the
# io_context thread; TSan checks what they share. Not part of scripts/test.sh (it costs a
# third full build); run it by hand or in a nightly job.
#   VISOR_TSAN_DIR=build-tsan   the build folder
#   extra arguments are passed to ctest (e.g. -R Upgrade, -L unit)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --ops

dir="${VISOR_TSAN_DIR:-build-tsan}"
jobs=$(nproc)
started=$(date +%s)
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVISOR_TSAN=ON -DVISOR_SANITIZE=OFF >/dev/null
cmake --build "$dir" -j "$jobs"
built=$(date +%s)
# halt_on_error: a report fails the test that triggered it (visor exits 66), so ctest shows it.
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0 ${TSAN_OPTIONS:-}"
status=0
(cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 600 "$@") || status=$?
finished=$(date +%s)
echo "tsan.sh: build $((built - started)) s, tests $((finished - built)) s, exit $status"
exit "$status"
