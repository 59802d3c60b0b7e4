#!/usr/bin/env bash
# Installs what sigguard's tests need on a Debian machine, and nothing when
# it is all there: clang-14 and libbpf headers (the generate check), strace
# and gdb (real debuggers the tests must see killed), systemd-analyze (the
# unit check), gcc (cgo, which go test -race needs), cpio (reads back the
# kernel matrix's initramfs in its unit test) and Debian's Docker engine
# (the container tests; scripts/docker-engine.sh starts and stops it).
set -euo pipefail

missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need clang-14 clang-14
need llvm-strip-14 llvm-14
need strace strace
need gdb gdb
need systemd-analyze systemd
need gcc gcc
need cpio cpio
need dockerd docker.io
[ -f /usr/include/bpf/bpf_helpers.h ] || missing+=(libbpf-dev)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing ${missing[*]}; install them (as root, on Debian: apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
