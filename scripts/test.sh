#!/usr/bin/env bash
# Sets everything up, then runs every test:
#   1. C++ unit tests (release build),
#   2. the same C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer,
#   3. the Python end-to-end tests of the CLI (pytest), at the same time as 2,
#   4. the Rust tests of bazof-datafusion (cargo test; C API from build/),
#   5. the fuzz targets for a short fixed time (scripts/fuzz.sh; built during 2-3).
# The Rust tests are compiled in the background from step 1 on: a cold build
# of DataFusion is the longest single step, and the serial phases (pytest,
# the tail of each ctest run) leave a core idle for it.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
phase() { printf '== %s (at %ds)\n' "$*" $((SECONDS - t0)); }

BAZOF_RUST=1 scripts/setup.sh

phase "Rust test build (bazof-datafusion), in the background"
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
# The target dir lives outside the clone, so the next run on this machine
# reuses the compiled dependencies (DataFusion); a cold one still works.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bazof/cargo-target}"
# CI builds once: incremental state would only cost time and disk.
export CARGO_INCREMENTAL=0
mkdir -p "$CARGO_TARGET_DIR"
rust_log="$CARGO_TARGET_DIR/test-build.log"
(cd rust && exec cargo test --locked --no-run -j"$(nproc)") >"$rust_log" 2>&1 &
rust_pid=$!
# Never leave the build running if a step below fails.
trap 'kill "$rust_pid" 2>/dev/null || true' EXIT

phase "C++ ASan + UBSan build"
BAZOF_ASAN=only scripts/setup.sh

phase "Spark and Ray extras"
# The optional extras bazof[spark] and bazof[ray] (pyproject.toml), for the connector
# tests: their pinned packages into .venv (not in setup.sh: the demo needs neither), and
# Java 17+ for Spark, from Debian when missing.
if ! command -v java >/dev/null; then
  echo "[test] installing Debian package openjdk-17-jre-headless (Spark needs Java)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi
.venv/bin/python -c 'import tomllib; x = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]; print("\n".join(x["spark"] + x["ray"]))' \
  | xargs .venv/bin/python -m pip install -q --disable-pip-version-check

phase "C++ tests (release)"
(cd build && ctest --output-on-failure -j"$(nproc)")

phase "C++ tests (ASan + UBSan), in the background, beside the Python tests"
# The Python tests leave a core idle much of the time (Spark and Ray start-up,
# subprocesses waiting on each other), so the sanitizer run overlaps them; its
# output goes to a log that is printed when it ends.
# Arrow's libraries are not instrumented: container-overflow checks would
# report false positives on containers shared with them.
asan_log=build-asan/ctest.log
(cd build-asan && ASAN_OPTIONS=detect_container_overflow=0:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  exec ctest --output-on-failure -j"$(nproc)") >"$asan_log" 2>&1 &
asan_pid=$!
# The fuzz targets (clang, build-fuzz/) are compiled meanwhile too; they run after.
fuzz_build_log=build/fuzz-build.log
BAZOF_FUZZ_BUILD_ONLY=1 scripts/fuzz.sh >"$fuzz_build_log" 2>&1 &
fuzz_build_pid=$!
trap 'kill "$rust_pid" "$asan_pid" "$fuzz_build_pid" 2>/dev/null || true' EXIT

phase "Python end-to-end tests"
pytest_rc=0
.venv/bin/python -m pytest || pytest_rc=$?

phase "C++ tests (ASan + UBSan): waiting for them"
asan_rc=0
wait "$asan_pid" || asan_rc=$?
if [ "$asan_rc" -ne 0 ]; then
  cat "$asan_log"
  echo "the C++ tests under ASan + UBSan failed (log above)" >&2
else
  tail -n 3 "$asan_log"
fi
[ "$pytest_rc" -eq 0 ] && [ "$asan_rc" -eq 0 ] || exit 1

phase "Fuzz targets: waiting for their build"
if ! wait "$fuzz_build_pid"; then
  cat "$fuzz_build_log"
  echo "the fuzz target build failed (log above)" >&2
  exit 1
fi
tail -n 1 "$fuzz_build_log"
trap 'kill "$rust_pid" 2>/dev/null || true' EXIT

phase "Fuzzing (libFuzzer, ASan + UBSan; 60 s per target, both at once)"
# Runs the targets built above; a finding fails the run.
scripts/fuzz.sh "${BAZOF_FUZZ_SECONDS:-60}"

phase "Rust tests (bazof-datafusion): waiting for the build"
if ! wait "$rust_pid"; then
  cat "$rust_log"
  echo "the Rust test build failed (log above)" >&2
  exit 1
fi
trap - EXIT
tail -n 3 "$rust_log"
phase "Rust tests (bazof-datafusion)"
(cd rust && cargo test --locked -j"$(nproc)")
