#!/usr/bin/env bash
# Regenerates the BPF objects and Go bindings with the pinned toolchain and
# fails if they differ from the committed ones: the committed files are what
# `go build` embeds, so they must be exactly what the C says.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
for gen in $(grep -l 'go tool bpf2go' $(find . -name gen.go -not -path './.cache/*')); do
  dir=$(dirname "$gen")
  saved=$(mktemp -d)
  cp "$dir"/*_bpfel.go "$dir"/*_bpfel.o "$saved"/
  before=$(ls "$dir" | sort)
  go generate "$dir"
  for f in "$saved"/*; do
    name=$(basename "$f")
    if ! cmp -s "$f" "$dir/$name"; then
      echo "check-generate: $dir/$name differs from what go generate makes; commit the regenerated file" >&2
      status=1
    fi
  done
  if [ "$before" != "$(ls "$dir" | sort)" ]; then
    echo "check-generate: go generate in $dir made files that are not committed: $(comm -13 <(echo "$before") <(ls "$dir" | sort) | tr '\n' ' ')" >&2
    status=1
  fi
  rm -rf "$saved"
done
exit $status
