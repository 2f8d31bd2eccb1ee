#!/usr/bin/env bash
# Sets everything up, writes a sample table with `bazof gen` and scans it as
# of two event times; then asks the original bazof showcase table a question.
#   BAZOF_DEMO_DIR=/some/dir scripts/demo.sh   keeps the sample table there
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
BAZOF=build/bazof
DATA=${BAZOF_DEMO_DIR:-$(mktemp -d -t bazof-demo.XXXXXX)}
rm -rf "$DATA/sample"

run() { printf '\n$ %s\n' "$*"; "$@"; }

run $BAZOF gen --path "$DATA" --table sample --keys 1000 --events 10 --seed 7
run $BAZOF info --path "$DATA" --table sample
run $BAZOF scan --path "$DATA" --table sample --as-of 2021-06-30 --limit 5
run $BAZOF scan --path "$DATA" --table sample --as-of 2024-06-30T12:00:00+02:00 --limit 5
run $BAZOF scan --path "$DATA" --table sample --as-of 2024-06-30 --version 1 --key k000003 --key k000010
run $BAZOF scan --path ../shared/fixtures/bazof-0.1 --table ltm_revenue --key AAPL --key GOOG --as-of 2019-01-17
run $BAZOF scan --path ../shared/fixtures/bazof-0.1 --table ltm_revenue --key AAPL --key GOOG
printf '\nsample table kept in %s\n' "$DATA/sample"
