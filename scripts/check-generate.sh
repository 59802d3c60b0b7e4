#!/usr/bin/env bash
# Regenerates the BPF objects and Go bindings with the pinned toolchain and
# fails if they differ from the committed ones: the committed files are what
# `go build` embeds, so they must be exactly what the C says.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=internal/bpf
saved=$(mktemp -d)
trap 'rm -rf "$saved"' EXIT
cp "$dir"/*_bpfel.go "$dir"/*_bpfel.o "$saved"/

go generate ./"$dir"

status=0
for f in "$saved"/*; do
  name=$(basename "$f")
  if ! cmp -s "$f" "$dir/$name"; then
    echo "check-generate: $dir/$name differs from what go generate makes; commit the regenerated file" >&2
    status=1
  fi
done
exit $status
