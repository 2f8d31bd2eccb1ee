#!/usr/bin/env bash
# ThreadSanitizer run of the threaded C++ tests: key-range partitioned scans
# (ScanTest, ScanOracleTest) and multi-threaded compaction (CompactOracleTest,
# CompactTest). Builds build-tsan/ (Debug, -fsanitize=thread via BAZOF_TSAN)
# with the bazof_tests target only, then runs them.
#   scripts/tsan.sh                  build and run
#   TSAN_FILTER='ScanTest.*' scripts/tsan.sh   another gtest filter
# Needs .venv (scripts/setup.sh). Not in CI: the build alone takes longer than
# CI's budget for it.
#
# Arrow's libraries come from the pyarrow wheel and are not instrumented:
# TSan sees their locks (pthread calls are intercepted) but not their atomics,
# so a hand-off through Arrow's thread pool or futures can look like a race.
# scripts/tsan.supp suppresses reports whose racing accesses are both inside
# libarrow / libparquet (see the file); a report with a bazof frame is real.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
[ -x .venv/bin/python ] || { echo "tsan.sh: run scripts/setup.sh first (.venv)" >&2; exit 1; }
export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=1
cmake -S . -B build-tsan -G Ninja -DBAZOF_PYTHON="$ROOT/.venv/bin/python" \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_BUILD_TYPE=Debug -DBAZOF_TSAN=ON >/dev/null
cmake --build build-tsan -j"$(nproc)" --target bazof_tests
FILTER=${TSAN_FILTER:-'ScanTest.*:*ScanOracleTest.*:*CompactOracleTest.*:CompactTest.*'}
# halt_on_error: the first report fails the run. second_deadlock_stack: better lock reports.
# The system allocator, not Arrow's bundled (uninstrumented) mimalloc.
export ARROW_DEFAULT_MEMORY_POOL=system
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$ROOT/scripts/tsan.supp ${TSAN_OPTIONS:-}"
echo "[tsan] build-tsan/tests/cpp/bazof_tests --gtest_filter=$FILTER" >&2
build-tsan/tests/cpp/bazof_tests --gtest_filter="$FILTER"
