#!/usr/bin/env bash
# The embedding example runs and prints what the README says, and the README shows exactly
# the compiled file (so the example in the README cannot rot).
set -euo pipefail
exe=$1 src=$2
out=$("$exe")
expected=$(cat "$src/examples/embed/expected.txt")
if [ "$out" != "$expected" ]; then
  echo "embed-minimal printed:"; echo "$out"; echo "expected:"; echo "$expected"; exit 1
fi
readme_block=$(awk '/<!-- embed:begin -->/{f=1;next} /<!-- embed:end -->/{f=0} f' "$src/README.md" |
  sed '1{/^```cpp$/d}' | sed '${/^```$/d}')
if [ "$readme_block" != "$(cat "$src/examples/embed/minimal.cpp")" ]; then
  echo "README.md's embedding example differs from examples/embed/minimal.cpp"; exit 1
fi
echo "embedding example OK"
