#!/usr/bin/env bash
# The whole test suite: formatting and vet, the check that the committed BPF
# objects are what the pinned clang makes of the C, and every Go test. Run it
# as root: the privileged tests load BPF programs (each scoped to processes
# the test starts in a cgroup of its own) and kill real processes.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "test: not root, so the privileged tests will be skipped (run as root for the full suite)" >&2
fi
./scripts/deps.sh

echo "== gofmt, go vet"
unformatted=$(gofmt -l $(find . -name '*.go' -not -path './.cache/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...

echo "== generated BPF objects match the C"
./scripts/check-generate.sh

echo "== go test"
# One package at a time: privileged tests of different packages share the
# kernel and its list of loaded programs, and two vCPUs. The bypass suite
# writes the coverage table it measured, which the README must show.
coverage=$(mktemp)
trap 'rm -f "$coverage"' EXIT
# The container tests have a step of their own below, with an engine.
SIGGUARD_COVERAGE_TABLE=$coverage go test -count=1 -p 1 $(go list ./... | grep -v '/test/container$')

echo "== README coverage table is what the bypass suite measured"
if [ "$(id -u)" -eq 0 ]; then
  ./scripts/coverage-table.sh --check "$coverage"
else
  echo "coverage: not checked (the bypass suite runs as root only)"
fi

echo "== race detector on the concurrent paths (Run beside Close, Reload)"
go test -count=1 -race -run 'Close|Reload' ./guard/

echo "== deploy manifests and Helm chart"
# A module of its own, so that sigguard's module does not pull Kubernetes
# and Helm: it decodes deploy/kubernetes and the chart rendered by its
# pinned Helm (go tool helm) strictly into the API types, and checks what
# the pod must have (host pids, mounts, capabilities, probes, policy).
# About 4 s with warm caches; about 4 minutes from cold ones (it downloads
# ~590 MB of modules and builds Helm).
(cd deploy/check && go vet ./... && go test -count=1 ./...)

echo "== container engine (sigguard in a container, as a DaemonSet runs it, against workload containers)"
# Starts Debian's dockerd unless an engine answers, and stops it again,
# also when a test fails. A developer may skip it locally with
# SIGGUARD_SKIP_CONTAINERS=1; CI never does.
if [ -n "${SIGGUARD_SKIP_CONTAINERS:-}" ] && [ -z "${CI:-}" ]; then
  echo "containers: skipped (SIGGUARD_SKIP_CONTAINERS is set)"
elif [ "$(id -u)" -ne 0 ] && [ -z "${CI:-}" ]; then
  echo "containers: skipped (not root: dockerd and the tests need root)"
else
  started=$SECONDS
  trap 'rm -f "$coverage"; ./scripts/docker-engine.sh stop' EXIT
  ./scripts/docker-engine.sh start
  # The tests, then the per-node cost of docs/fleet.md (figures printed).
  go test -count=1 -bench PerNodeCost -benchtime 1x ./test/container/
  ./scripts/docker-engine.sh stop
  trap 'rm -f "$coverage"' EXIT
  echo "containers: $((SECONDS - started)) s"
fi

echo "== kernel matrix (every Debian kernel from 5.10 under QEMU; about 11 minutes; README's lsm coverage table)"
# Its sid guest runs the bypass suite in the lsm tier, and the matrix fails
# when README.md's lsm coverage table is not what it measured there. A
# developer may skip it locally with SIGGUARD_SKIP_KERNELS=1; CI never does.
if [ -n "${SIGGUARD_SKIP_KERNELS:-}" ] && [ -z "${CI:-}" ]; then
  echo "kernels: skipped (SIGGUARD_SKIP_KERNELS is set)"
else
  ./scripts/kernels.sh
fi

echo "== fuzzing, briefly (the committed corpora in testdata/fuzz run with every go test)"
# A count of inputs, not a duration: with -fuzztime 5s, Go up to 1.26
# can fail a target with a bare "context deadline exceeded" when the
# deadline fires while a worker is mid-call (golang/go#75804; it failed
# FuzzDecodeEvent here once). Each count is about 5 s of this machine.
for target in "./internal/policy FuzzParse 60000" "./internal/cli FuzzParseArgs 40000" "./guard FuzzDecodeEvent 150000"; do
  set -- $target
  go test -run '^$' -fuzz "^$2\$" -fuzztime "$3x" "$1"
done
