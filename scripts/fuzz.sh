#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (fuzzer + ASan + UBSan, in build-fuzz)
# and runs each for a bounded time, starting from tests/fuzz/corpus/<target>/ and checking
# every saved crash in tests/fuzz/regressions/<target>/ first.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   default: 60 s per target, every target
#   scripts/fuzz.sh 10                      the CI smoke run
# Exits non-zero when a target crashes, leaks, times out or fails a check; the input is saved
# as build-fuzz/artifacts/<target>/crash-* (copy it to tests/fuzz/regressions/<target>/ once
# the bug is fixed, so that it is checked on every run). New corpus entries found during the
# run stay in build-fuzz/corpus/<target>/ (not in the repository).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
scripts/install-deps.sh --fuzz

dir="${VISOR_FUZZ_DIR:-build-fuzz}"
# Warnings stay warnings here: the gcc build (scripts/test.sh) is the one held to -Werror, and a
# clang-only warning must not stop the fuzzing.
cmake -S . -B "$dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVISOR_FUZZ=ON -DVISOR_TESTS=OFF -DVISOR_SANITIZE=OFF -DVISOR_TSAN=OFF -DVISOR_WERROR=OFF >/dev/null
cmake --build "$dir" -j "$(nproc)"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for source in tests/fuzz/*_fuzz.cpp; do
    name="$(basename "$source" .cpp)"
    targets+=("${name%_fuzz}")
  done
fi

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
failed=()
for target in "${targets[@]}"; do
  binary="$dir/tests/fuzz/fuzz_$target"
  [ -x "$binary" ] || { echo "fuzz.sh: no target $target ($binary)" >&2; exit 2; }
  seeds="tests/fuzz/corpus/$target"
  regressions="tests/fuzz/regressions/$target"
  work="$dir/corpus/$target"
  artifacts="$dir/artifacts/$target"
  mkdir -p "$work" "$artifacts"
  dict=()
  [ -f "tests/fuzz/$target.dict" ] && dict=(-dict="tests/fuzz/$target.dict")
  # Every saved crash must now pass (fixed bugs stay fixed).
  if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    if ! "$binary" "${dict[@]}" "$regressions"/* > "$artifacts/regressions.log" 2>&1; then
      echo "fuzz.sh: $target: a saved regression fails again; see $artifacts/regressions.log" >&2
      tail -30 "$artifacts/regressions.log" >&2
      failed+=("$target(regression)")
      continue
    fi
  fi
  echo "== fuzz $target for ${seconds}s"
  set +e
  "$binary" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" "$seeds" > "$artifacts/fuzz.log" 2>&1
  code=$?
  set -e
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)" "$artifacts/fuzz.log" | tr '\n' ' '
  echo
  if [ "$code" -ne 0 ]; then
    echo "fuzz.sh: $target failed (exit $code); input saved under $artifacts/" >&2
    grep -E "ERROR|FUZZ_CHECK|SUMMARY|Test unit written" "$artifacts/fuzz.log" | head -20 >&2
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, ${seconds}s each, no crash"
