#!/usr/bin/env bash
# Installs the Debian packages rendezvous builds and tests with, skipping what is present.
# Usage: scripts/deps.sh [extra-package ...]
set -euo pipefail

packages=(meson ninja-build pkg-config cmake g++ libasio-dev libwebsocketpp-dev rapidjson-dev
          doctest-dev libssl-dev python3 "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
