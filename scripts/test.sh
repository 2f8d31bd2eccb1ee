#!/usr/bin/env bash
# Sets everything up, then runs every test:
#   1. C++ unit tests (release build),
#   2. the same C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer,
#   3. the Python end-to-end tests of the CLI (pytest),
#   4. the Rust tests of bazof-datafusion (cargo test; C API from build/).
set -euo pipefail
cd "$(dirname "$0")/.."

BAZOF_ASAN=1 BAZOF_RUST=1 scripts/setup.sh

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

echo "== Rust tests (bazof-datafusion)"
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
# The target dir lives outside the clone, so the next run on this machine
# reuses the compiled dependencies (DataFusion); a cold one still works.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bazof/cargo-target}"
(cd rust && cargo test --locked -j"$(nproc)")
