#!/usr/bin/env bash
# The README's coverage table is what the bypass suite (TestBypassSuite in
# ./guard) measured, never written by hand. This script keeps the table of
# the tier this machine's kernel gives (the signal tier on ours); the
# README's second table, the lsm tier's, is measured and checked by the
# kernel matrix in its sid guest (test/kernels/coverage.go; rewrite it with
# go run ./test/kernels -kernels sid -readme).
#
#   scripts/coverage-table.sh          run the suite (as root) and put its table in README.md
#   scripts/coverage-table.sh --check TABLE
#                                      fail if README.md's table is not TABLE, a table the suite
#                                      wrote (SIGGUARD_COVERAGE_TABLE=TABLE go test ./guard/)
set -euo pipefail
cd "$(dirname "$0")/.."

begin='<!-- coverage:begin -->'
end='<!-- coverage:end -->'
if [ "$(grep -cxF -e "$begin" -e "$end" README.md)" -ne 2 ]; then
  echo "coverage-table: README.md needs one $begin and one $end line" >&2
  exit 1
fi

# README.md with the lines between the markers replaced by the file $1.
splice() {
  awk -v table="$1" -v begin="$begin" -v end="$end" '
    $0 == begin { print; while ((getline line < table) > 0) print line; skip = 1; next }
    $0 == end   { skip = 0 }
    !skip       { print }' README.md
}

if [ "${1:-}" = "--check" ]; then
  table=${2:?usage: coverage-table.sh --check TABLE}
  if [ ! -s "$table" ]; then
    echo "coverage-table: the bypass suite wrote no table to $table (it runs as root only)" >&2
    exit 1
  fi
  if ! diff -u README.md <(splice "$table"); then
    echo "coverage-table: README.md's coverage table is not what the bypass suite measured;" \
      "run scripts/coverage-table.sh (as root) and review the change" >&2
    exit 1
  fi
  exit 0
fi

table=$(mktemp)
trap 'rm -f "$table" README.md.coverage' EXIT
SIGGUARD_COVERAGE_TABLE=$table go test -count=1 -run '^TestBypassSuite$' ./guard/
if [ ! -s "$table" ]; then
  echo "coverage-table: the bypass suite wrote no table (it runs as root only)" >&2
  exit 1
fi
splice "$table" >README.md.coverage
mv README.md.coverage README.md
