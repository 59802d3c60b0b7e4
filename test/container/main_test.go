// Package container runs sigguard the way a Kubernetes DaemonSet runs it:
// in a container of its own, with its capabilities, the host's pid and
// cgroup namespaces, the host's cgroup tree read-only and its bpf
// filesystem for pins, its JSON events read from the container's log, and
// workloads in other containers. It needs a Docker engine
// (scripts/docker-engine.sh starts one) and root.
//
// Every policy here is scoped to containers the test started: a rule
// names the cgroup of one of them as the caller's (`cgroup`) or as the
// target's (`target.cgroup`), never the whole machine.
//
// TestMain builds two images from what is on the host, no registry
// needed: sigguard's (the static binary and deploy/Dockerfile) and a
// workload image (strace, gdb with the Python it embeds, a shell, the
// offender), and removes them, and every container the tests started, at
// the end. It fails the run if the engine is left with a container, an
// image, a volume or a network it did not have before, or the host with a
// cgroup or a pin.
package container

import (
	"fmt"
	"os"
	"testing"
)

// The engine and images a run uses; set by TestMain.
var (
	// skipReason, when set, is why every test skips.
	skipReason string
	// runLabel marks every container and image of this run.
	runLabel string
	// sigguardImage and workloadImage are the images TestMain built.
	sigguardImage, workloadImage string
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	if skipReason = whySkip(); skipReason != "" {
		return m.Run()
	}
	if err := engineAnswers(); err != nil {
		fmt.Fprintf(os.Stderr, "container tests: %v\n", err)
		return 1
	}
	before, err := snapshot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "container tests: %v\n", err)
		return 1
	}
	runLabel = "sigguard-test=" + randomHex(6)
	code := 0
	if err := buildImages(); err != nil {
		fmt.Fprintf(os.Stderr, "container tests: build the images: %v\n", err)
		code = 1
	} else {
		code = m.Run()
	}
	if err := removeRun(); err != nil {
		fmt.Fprintf(os.Stderr, "container tests: clean up: %v\n", err)
		code = 1
	}
	if err := leftBehind(before); err != nil {
		fmt.Fprintf(os.Stderr, "container tests: %v\n", err)
		code = 1
	}
	return code
}

// whySkip names the only reasons the tests skip: not root, or a developer
// opting out. In CI neither opt-out holds; an engine that does not answer
// always fails the run.
func whySkip() string {
	ci := os.Getenv("CI") != ""
	switch {
	case os.Geteuid() != 0 && !ci:
		return "needs root (sigguard loads BPF programs; the engine's socket is root's)"
	case os.Getenv("SIGGUARD_SKIP_CONTAINERS") != "" && !ci:
		return "SIGGUARD_SKIP_CONTAINERS is set"
	}
	return ""
}

// requireEngine skips a test for the reasons whySkip gives, and fails it
// when not root in CI.
func requireEngine(t testing.TB) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	if os.Geteuid() != 0 {
		t.Fatal("the container tests need root, in CI too")
	}
}
