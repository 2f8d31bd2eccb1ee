#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang under ASan+UBSan in
# build-fuzz/ and runs each for a fixed time, all at once:
#   scripts/fuzz.sh                      30 minutes each (the long run)
#   scripts/fuzz.sh 60                   60 s each (what scripts/test.sh runs)
#   scripts/fuzz.sh 600 fuzz_snapshot    one target
# The checked-in seeds (fuzz/corpus/<target>/) are only read: what the fuzzer
# finds goes to build-fuzz/work/<target>/ (kept between runs, so a run goes on
# from the last), what it finds to build-fuzz/work/findings/<target>-{crash,
# timeout,oom,leak}-<sha1>. Logs: build-fuzz/work/<target>.log. Exit status 1
# if any target found something. Installs clang (Debian's) when missing.
# BAZOF_FUZZ_BUILD_ONLY=1 only builds the targets.
# BAZOF_FUZZ_JOBS=1 runs the targets one after the other instead;
# BAZOF_FUZZ_ARGS adds libFuzzer flags (e.g. "-fork=1 -ignore_crashes=1" to go
# on after a finding and collect them all).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
log() { printf '[fuzz] %s\n' "$*" >&2; }

SECS=${1:-1800}
shift || true
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(fuzz_snapshot fuzz_input)

# 1. Toolchain: clang with libFuzzer and the sanitizer runtimes (Debian's
#    default clang, libstdc++ as Arrow's wheel), and what the core needs.
. scripts/apt_ensure.sh
apt_ensure fuzz clang libclang-rt-dev cmake ninja-build ccache nlohmann-json3-dev libcli11-dev libcurl4-openssl-dev \
  python3-venv
# Arrow C++ comes from the pinned pyarrow wheel (scripts/setup.sh makes the
# full .venv; the fuzz build needs only pyarrow).
if ! .venv/bin/python -c "import pyarrow" 2>/dev/null; then
  log "creating .venv with the pinned pyarrow"
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check "$(grep '^pyarrow==' requirements.txt)"
fi
.venv/bin/python -c "import pyarrow; pyarrow.create_library_symlinks()"

# 2. Build (only the fuzz targets). -O1 with line tables only: symbolized
#    reports, and about half the compile time of -O2 -g.
export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=1
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DBAZOF_PYTHON="$ROOT/.venv/bin/python" \
  -DBAZOF_FUZZ=ON -DBAZOF_BUILD_TESTS=OFF -DBAZOF_WERROR=OFF >/dev/null
log "building build-fuzz (${TARGETS[*]})"
start=$(date +%s)
cmake --build build-fuzz -j"$(nproc)" --target "${TARGETS[@]}"
log "built in $(($(date +%s) - start)) s"
# scripts/test.sh builds the targets early, beside other tests, then runs them.
[ "${BAZOF_FUZZ_BUILD_ONLY:-0}" = 1 ] && exit 0

# 3. Run. Arrow is not instrumented: its containers would trip ASan's
#    container-overflow check (as in scripts/test.sh).
export ASAN_OPTIONS=detect_container_overflow=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
WORK=build-fuzz/work
mkdir -p "$WORK/findings"
max_len() { case $1 in fuzz_snapshot) echo 65536 ;; *) echo 16384 ;; esac; }
run() {
  local t=$1
  mkdir -p "$WORK/$t"
  touch "$WORK/.start-$t"
  # -timeout: one input taking longer is a finding (a hang);
  # -rss_limit_mb: Arrow's pools and ASan's shadow on a 24 GiB machine.
  nice -n 10 "build-fuzz/$t" "$WORK/$t" "fuzz/corpus/$t" \
    -max_total_time="$SECS" -max_len="$(max_len "$t")" -timeout=30 -rss_limit_mb=4096 \
    -dict="fuzz/$t.dict" -artifact_prefix="$WORK/findings/$t-" -print_final_stats=1 \
    ${BAZOF_FUZZ_ARGS:-} >"$WORK/$t.log" 2>&1
}
log "running ${TARGETS[*]} for $SECS s each (logs: $WORK/<target>.log)"
declare -A pid rc
for t in "${TARGETS[@]}"; do
  if [ "${BAZOF_FUZZ_JOBS:-0}" = 1 ]; then
    rc[$t]=0; run "$t" || rc[$t]=$?
  else
    run "$t" & pid[$t]=$!
  fi
done
for t in "${!pid[@]}"; do rc[$t]=0; wait "${pid[$t]}" || rc[$t]=$?; done

failed=0
for t in "${TARGETS[@]}"; do
  # libFuzzer's last status line has cov (edges), ft (features) and corp.
  status=$(grep -aE '^#[0-9]+' "$WORK/$t.log" | tail -1 || true)
  execs=$(grep -aE '^stat::number_of_executed_units' "$WORK/$t.log" | awk '{print $2}' || true)
  rate=$(grep -aE '^stat::average_exec_per_sec' "$WORK/$t.log" | awk '{print $2}' || true)
  # -fork=1 prints no final stats: the status line's "#N" counts executions.
  [ -n "$execs" ] || execs=$(sed -E 's/^#([0-9]+).*/\1/' <<<"$status")
  found=$(find "$WORK/findings" -name "$t-*" -newer "$WORK/.start-$t" | sort)
  if [ "${rc[$t]}" -ne 0 ] || [ -n "$found" ]; then
    failed=1
    log "$t: FINDING (exit ${rc[$t]}); the log's end:"
    grep -av NEW_FUNC "$WORK/$t.log" | tail -40 >&2
    log "inputs: ${found:-none saved}"
  else
    log "$t: ok: ${execs:-?} executions${rate:+ ($rate/s)}; ${status}"
  fi
done
exit $failed
