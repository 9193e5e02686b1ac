#!/usr/bin/env bash
# Installs what is missing, builds, and starts the example server on 127.0.0.1:8080.
# Any argument is passed to rendezvous-server (see --help), e.g. --listen 0.0.0.0:8080.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
[ -f build-release/build.ninja ] ||
  meson setup build-release --buildtype=release --wrap-mode=nodownload -Dtests=false >/dev/null
ninja -C build-release examples/server/rendezvous-server >/dev/null
exec build-release/examples/server/rendezvous-server "$@"
