#!/bin/sh
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan in build-fuzz/ and runs
# each for SECONDS (default 60) from its seed corpus. Exits non-zero on any crash, leak or
# sanitizer report. Usage: .ci/fuzz.sh [SECONDS]
set -eu
seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}

if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup "$build" "$root" --wrap-mode=nodownload \
    -Dfuzzing=true -Dtests=false -Dexamples=false -Dbenchmarks=false \
    -Db_sanitize=address,undefined -Db_lundef=false \
    -Dcpp_args=-fsanitize=fuzzer-no-link -Dbuildtype=debugoptimized
fi
ninja -C "$build"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$root/.ci/ubsan.supp
status=0
for name in fingersmith cuttlefish rooms mailbox; do
  work=$(mktemp -d)  # inputs the run discovers; the seed corpus stays untouched
  log="$build/fuzz-$name.log"
  if ! "$build/tests/fuzz/fuzz-$name" -max_total_time="$seconds" -detect_leaks=1 \
      -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
      "$work" "$root/tests/fuzz/corpus/$name" >"$log" 2>&1; then
    status=1
    echo "fuzz-$name: FAILED (crash, leak, timeout or sanitizer report)"
    tail -n 40 "$log"
  elif grep -q -e "runtime error:" -e "ERROR: AddressSanitizer" -e "ERROR: LeakSanitizer" "$log"; then
    status=1
    echo "fuzz-$name: FAILED (sanitizer report)"
    grep -m 5 -e "runtime error:" -e "ERROR:" "$log"
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
  echo "fuzz-$name: ${execs:-0} executions in ${seconds} s (${cov:-cov: ?})"
  rm -rf "$work"
done
exit $status
