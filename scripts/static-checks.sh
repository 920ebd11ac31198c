#!/usr/bin/env bash
# Static checks over src/ (and the headers it includes from include/visor/):
#   the folder layering (scripts/check-layers.sh: includes only point down the layers);
#   clang-tidy with the repository's .clang-tidy (every finding is an error), using the
#   compile_commands.json of a configure-only build folder (nothing is compiled);
#   cppcheck --enable=warning,performance,portability, with suppressions justified inline
#   (// cppcheck-suppress <id> plus the reason, on the line above the finding).
# Exits non-zero on any finding.
#   VISOR_STATIC_DIR=build-static   the folder holding compile_commands.json
#   scripts/static-checks.sh [FILE...]   only these files (default: every src/**/*.cpp)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --static

dir="${VISOR_STATIC_DIR:-build-static}"
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVISOR_TESTS=OFF -DVISOR_SANITIZE=OFF \
  -DVISOR_TSAN=OFF -DVISOR_FUZZ=OFF -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  mapfile -t files < <(find src -name '*.cpp' | sort)
fi

status=0
started=$(date +%s)
echo "== clang-format ($(clang-format --version | grep -o 'version [0-9.]*'), every tracked C++ file)"
# The repository's .clang-format is the style; a file that differs from it is a finding.
mapfile -t cxx_files < <(git ls-files '*.cpp' '*.h' 2>/dev/null || find src include tests -name '*.cpp' -o -name '*.h')
if ! clang-format --dry-run --Werror "${cxx_files[@]}"; then
  echo "static-checks.sh: run clang-format -i on the files above"
  status=1
fi
echo "== folder layering (scripts/check-layers.sh)"
if ! scripts/check-layers.sh; then
  status=1
fi
echo "== clang-tidy ($(clang-tidy --version | grep -o 'version [0-9.]*'), ${#files[@]} files)"
# One file per process, $(nproc) at a time; output of each file printed whole.
if ! printf '%s\n' "${files[@]}" |
  xargs -P "$(nproc)" -I{} sh -c 'out=$(clang-tidy -p "$0" --quiet "{}" 2>&1) || { printf "%s\n" "$out"; exit 1; }' "$dir"; then
  status=1
fi
tidy_done=$(date +%s)

echo "== cppcheck ($(cppcheck --version))"
# System headers (boost, nlohmann, spdlog, libcurl, ...) are not analysed: they are not ours,
# and cppcheck does not need them to check visor's own code.
if ! cppcheck --quiet --std=c++17 --language=c++ --enable=warning,performance,portability \
  --error-exitcode=1 --inline-suppr -I include -I src --suppress=missingIncludeSystem \
  --template='{file}:{line}: {severity}: {message} [{id}]' -j "$(nproc)" "${files[@]}"; then
  status=1
fi
finished=$(date +%s)
echo "static-checks.sh: clang-tidy $((tidy_done - started)) s, cppcheck $((finished - tidy_done)) s, exit $status"
exit "$status"
