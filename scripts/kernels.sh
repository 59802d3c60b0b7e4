#!/usr/bin/env bash
# The kernel matrix: sigguard's privileged tests on every Debian kernel
# line from 5.10 to the newest, each booted under QEMU (see test/kernels).
# As root; installs QEMU and busybox-static when missing, and keeps apt
# lists and kernels in /var/cache/sigguard-kernels between runs.
#
#   ./scripts/kernels.sh                      # every kernel
#   ./scripts/kernels.sh -kernels bullseye,sid -v
#   ./scripts/kernels.sh -doc docs/kernels.md # also rewrite the support table
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./test/kernels "$@"
