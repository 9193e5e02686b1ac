#!/usr/bin/env bash
# Installs the library into a temporary root and builds tiny consumers against the
# installed files only: one with pkg-config, one with CMake's find_package.
set -euo pipefail
build=$1 src=$2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
meson install -C "$build" --destdir "$root" --no-rebuild --only-changed >/dev/null

pcdir=$(dirname "$(find "$root" -name rendezvous.pc | head -1)")
libdir=$(dirname "$(find "$root" -name 'librendezvous.so' | head -1)")
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$root
c++ -std=c++17 "$src/tests/install/consumer.cpp" -o "$root/consumer" \
  $(pkg-config --cflags --libs rendezvous)
LD_LIBRARY_PATH=$libdir "$root/consumer"

prefix=$(dirname "$(dirname "$pcdir")")
[ -d "$prefix/include/rendezvous" ] || prefix=$(dirname "$prefix")
cmake -S "$src/tests/install/cmake" -B "$root/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCONSUMER_SOURCE="$src/tests/install/consumer.cpp" >/dev/null
cmake --build "$root/cmake-build" >/dev/null
LD_LIBRARY_PATH=$libdir "$root/cmake-build/consumer"
echo "install test OK"
