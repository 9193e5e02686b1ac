#!/usr/bin/env python3
"""Prints "passed failed" for one meson testlog.json.

Each doctest executable contributes its test cases (from its "[doctest] test cases:" line);
any other test counts as one. A test that failed without a doctest summary (crash, timeout)
counts as one failure on top of what its summary said.
"""
import json
import re
import sys

SUMMARY = re.compile(r"\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed")

passed = failed = 0
with open(sys.argv[1], encoding="utf-8") as log:
    for line in log:
        if not line.strip():
            continue
        test = json.loads(line)
        ok = test.get("result") in ("OK", "EXPECTEDFAIL", "SKIP")
        m = None
        for m in SUMMARY.finditer(test.get("stdout", "") or ""):
            pass
        if m:
            passed += int(m.group(2))
            failed += int(m.group(3))
            if not ok and int(m.group(3)) == 0:
                failed += 1
        elif ok:
            passed += 1
        else:
            failed += 1
print(passed, failed)
