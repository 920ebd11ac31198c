#!/usr/bin/env bash
# The folders of src/ and include/visor/ depend one way:
#   common <- config <- process, store, fetch <- sources <- upgrade <- ops <- daemon <- cli
# A file may include headers of its own folder and of folders to its left (process, store and
# fetch share a tier and may use each other, as long as no cycle forms). This script reads every
# #include "visor/<folder>/..." line and fails on an include that points right (a back edge)
# or on a cycle within a tier.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A tier=([common]=0 [config]=1 [process]=2 [store]=2 [fetch]=2 [sources]=3 [upgrade]=4
  [ops]=5 [daemon]=6 [cli]=7)

status=0
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
while IFS= read -r file; do
  case "$file" in
    src/main.cpp) continue ;;
    src/*) from=${file#src/} ;;
    include/visor/*) from=${file#include/visor/} ;;
  esac
  from=${from%%/*}
  if [ -z "${tier[$from]+set}" ]; then
    echo "check-layers.sh: $file is in folder '$from', which has no place in the layering"
    status=1
    continue
  fi
  while IFS= read -r to; do
    [ "$to" = "$from" ] && continue
    if [ -z "${tier[$to]+set}" ]; then
      echo "check-layers.sh: $file includes visor/$to/, a folder with no place in the layering"
      status=1
    elif [ "${tier[$to]}" -gt "${tier[$from]}" ]; then
      echo "check-layers.sh: $file ($from) includes visor/$to/: $to sits above $from"
      status=1
    elif [ "${tier[$to]}" -eq "${tier[$from]}" ]; then
      echo "$from $to" >>"$edges"
    fi
  done < <(sed -n 's|^[[:space:]]*#[[:space:]]*include[[:space:]]*"visor/\([a-z_]*\)/.*|\1|p' "$file" | sort -u)
done < <(find src include/visor -name '*.cpp' -o -name '*.h' | sort)

# Within a tier: tsort reports a cycle among the folders.
if [ -s "$edges" ] && ! sort -u "$edges" | tsort >/dev/null 2>"$edges.err"; then
  echo "check-layers.sh: folders of one tier include each other in a cycle:"
  cat "$edges.err"
  status=1
fi
rm -f "$edges.err"
[ "$status" -eq 0 ] && echo "check-layers.sh: folder dependencies go one way"
exit "$status"
