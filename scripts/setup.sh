#!/usr/bin/env bash
# Sets up everything bazof needs on a fresh Debian machine, then builds it.
#   scripts/setup.sh            release build in build/
#   BAZOF_ASAN=1 scripts/setup.sh   also an ASan+UBSan build in build-asan/
#   BAZOF_ASAN=only scripts/setup.sh   only the ASan+UBSan build (after a full set-up)
# Idempotent: re-running only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

log() { printf '[setup] %s\n' "$*" >&2; }

# 1. System packages (Debian). Installed only when missing.
. scripts/apt_ensure.sh
apt_ensure setup cmake ninja-build g++ ccache pkg-config nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev \
  libbenchmark-dev libcurl4-openssl-dev
# zsh: tests/python/test_completion.py loads the zsh completion in a real zsh.
apt_ensure setup zsh

# 2. Project-local Python environment with the pinned pyarrow (which also
#    carries Arrow C++).
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
# The wheel ships only versioned sonames (libarrow.so.2600); create the
# unversioned names the linker looks for.
.venv/bin/python -c "import pyarrow; pyarrow.create_library_symlinks()"
# The Python package's build requirements (pinned once, in pyproject.toml):
# it is built without build isolation, to share build/ (step 4).
.venv/bin/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))' \
  | xargs .venv/bin/python -m pip install -q --disable-pip-version-check

# 2b. A second S3 implementation for the object-storage tests (s3rver, from
#     the npm registry, pinned by tests/s3rver/package-lock.json).
command -v npm >/dev/null || apt_ensure setup nodejs npm
if [ ! -x tests/s3rver/node_modules/.bin/s3rver ]; then
  log "installing s3rver (npm ci in tests/s3rver)"
  (cd tests/s3rver && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# 3. Build.
# Paths are hashed relative to the clone, so two clones share cache entries.
export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=1
build() {
  local dir=$1; shift
  # ccache (its cache lives outside the clone) makes rebuilds in a new clone
  # of the same machine cheap; a cold cache changes nothing but time.
  cmake -S . -B "$dir" -G Ninja -DBAZOF_PYTHON="$ROOT/.venv/bin/python" \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache "$@" >/dev/null
  log "building $dir"
  cmake --build "$dir" -j"$(nproc)"
}
if [ "${BAZOF_ASAN:-0}" = only ]; then
  # scripts/test.sh: the release build and the rest are already set up.
  build build-asan -DCMAKE_BUILD_TYPE=Debug -DBAZOF_ASAN=ON ${BAZOF_CMAKE_ARGS:-}
  exit 0
fi
build build -DCMAKE_BUILD_TYPE=RelWithDebInfo ${BAZOF_CMAKE_ARGS:-}
if [ "${BAZOF_ASAN:-0}" = 1 ]; then
  build build-asan -DCMAKE_BUILD_TYPE=Debug -DBAZOF_ASAN=ON ${BAZOF_CMAKE_ARGS:-}
fi

# 4. The Python package (bazof._core, the pure-Python API and the bazof CLI)
#    into .venv. It builds in build/ as well, so the C++ core compiled above
#    is reused, not compiled again.
log "installing the bazof Python package into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps \
  -C build-dir=build -C cmake.define.BAZOF_BUILD_TESTS=ON .
log "ready: build/bazof, .venv/bin/bazof, import bazof"
# 4. Rust, for the bazof-datafusion crate (rust/): rustup's cargo (Debian's is
#    too old for DataFusion), then the crates it locks (rust/Cargo.lock).
#    Required with BAZOF_RUST=1 (scripts/test.sh); otherwise only reported.
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
RUST_MIN=1.94
rust_problem=""
if ! command -v cargo >/dev/null; then
  rust_problem="cargo not found: install Rust >= $RUST_MIN with rustup (rust/ needs it)"
else
  rust_version=$(rustc --version | awk '{print $2}')
  if [ "$(printf '%s\n%s\n' "$RUST_MIN" "$rust_version" | sort -V | head -1)" != "$RUST_MIN" ]; then
    rust_problem="rustc $rust_version is older than $RUST_MIN, which DataFusion needs: rustup update"
  fi
fi
if [ -n "$rust_problem" ]; then
  log "$rust_problem"
  [ "${BAZOF_RUST:-0}" = 1 ] && exit 1
else
  log "fetching Rust crates (rustc $rust_version)"
  cargo fetch --locked --quiet --manifest-path rust/Cargo.toml
fi
log "ready: build/bazof, build/libbazof_c.so"
