#!/usr/bin/env bash
# Sets everything up, then runs every test:
#   1. C++ unit tests (release build),
#   2. the same C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer,
#   3. the Python end-to-end tests of the CLI (pytest).
set -euo pipefail
cd "$(dirname "$0")/.."

BAZOF_ASAN=1 scripts/setup.sh

echo "== C++ tests (release)"
(cd build && ctest --output-on-failure -j"$(nproc)")

echo "== C++ tests (ASan + UBSan)"
# Arrow's libraries are not instrumented: container-overflow checks would
# report false positives on containers shared with them.
export ASAN_OPTIONS=detect_container_overflow=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j"$(nproc)")
unset ASAN_OPTIONS UBSAN_OPTIONS

echo "== Python end-to-end tests"
.venv/bin/python -m pytest
