#!/usr/bin/env bash
# Installs every Debian package the build and the tests need. Idempotent; quick when all is there.
set -euo pipefail

packages=(
  cmake ninja-build g++ ccache pkg-config
  libboost-dev nlohmann-json3-dev libspdlog-dev libcli11-dev
  libcurl4-openssl-dev libssl-dev libarchive-dev libgtest-dev
  python3 zip unzip util-linux procps curl ca-certificates openssl faketime
  dpkg-dev file
)
# Extra tools some suites use; passed as arguments, e.g. `install-deps.sh --bench`.
for group in "$@"; do
  case "$group" in
    --bench) packages+=(tini dumb-init supervisor hyperfine time busybox) ;;
    --fuzz) packages+=(clang libclang-rt-14-dev) ;;
    --static) packages+=(clang-tidy cppcheck clang-format) ;;
    --ops) packages+=(systemd prometheus python3-yaml) ;;
    *) echo "install-deps.sh: unknown group $group" >&2; exit 2 ;;
  esac
done

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps.sh: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
