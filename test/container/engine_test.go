package container

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sigguard/sigguard/internal/kernfs"
)

// dockerClient is the client the tests drive: the engine's own
// (/usr/bin/docker from Debian's docker.io, API 1.41), unless
// SIGGUARD_DOCKER names another. A newer client first on PATH (Docker 28
// here) negotiates the API down to the engine's, but its build command
// wants the buildx plugin and falls back to the legacy builder with a
// deprecation notice; the engine's own client needs no negotiation.
func dockerClient() string {
	if c := os.Getenv("SIGGUARD_DOCKER"); c != "" {
		return c
	}
	if _, err := os.Stat("/usr/bin/docker"); err == nil {
		return "/usr/bin/docker"
	}
	return "docker"
}

// docker runs the client and returns its standard output, trimmed; an
// error carries the standard error.
func docker(args ...string) (string, error) {
	cmd := exec.Command(dockerClient(), args...)
	// The legacy builder, said outright: FROM scratch needs nothing more,
	// and it leaves no build cache behind.
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := strings.TrimSpace(stdout.String())
	if err != nil {
		return out, fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

func engineAnswers() error {
	out, err := docker("version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}")
	if err != nil {
		return fmt.Errorf("no container engine answers (%v); start one with scripts/docker-engine.sh start, "+
			"or outside CI set SIGGUARD_SKIP_CONTAINERS=1 to skip these tests", err)
	}
	fmt.Fprintf(os.Stderr, "container tests: engine %s, client %s\n", out, dockerClient())
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// state is what the tests must leave as they found it.
type state map[string]string

func snapshot() (state, error) {
	s := state{}
	for name, args := range map[string][]string{
		"containers": {"ps", "-aq", "--no-trunc"},
		"images":     {"images", "-aq", "--no-trunc"},
		"volumes":    {"volume", "ls", "-q"},
		"networks":   {"network", "ls", "-q"},
		"disk usage": {"system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Size}}"},
	} {
		out, err := docker(args...)
		if err != nil {
			return nil, err
		}
		s["engine's "+name] = sortedLines(out)
	}
	s["pins in /sys/fs/bpf"] = ownPins()
	mount, err := kernfs.Cgroup2Mount()
	if err != nil {
		return nil, err
	}
	s["containers' cgroups"] = dirNames(filepath.Join(mount, "docker"))
	return s, nil
}

func sortedLines(s string) string {
	lines := strings.Split(s, "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// dirNames lists the directories in dir. (The test cgroups of
// internal/testenv check their own removal.)
func dirNames(dir string) string {
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return strings.Join(names, "\n")
}

// ownPins lists /sys/fs/bpf but for the pin directories other test
// binaries make (testenv.PinDir names them after the test's pid).
func ownPins() string {
	own := fmt.Sprintf("sigguard-test-%d-", os.Getpid())
	entries, _ := os.ReadDir("/sys/fs/bpf")
	var names []string
	for _, e := range entries {
		if n := e.Name(); !strings.HasPrefix(n, "sigguard-test-") || strings.HasPrefix(n, own) {
			names = append(names, n)
		}
	}
	return strings.Join(names, "\n")
}

// leftBehind compares the engine and the host with before. The engine
// removes a container's cgroup a moment after the container, so this
// waits a little for them to settle.
func leftBehind(before state) error {
	var diffs []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		after, err := snapshot()
		if err != nil {
			return err
		}
		diffs = diffs[:0]
		for k, v := range before {
			if after[k] != v {
				diffs = append(diffs, fmt.Sprintf("%s: before\n%s\nafter\n%s", k, indent(v), indent(after[k])))
			}
		}
		if len(diffs) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(diffs) > 0 {
		slices.Sort(diffs)
		return errors.New("the tests left something behind:\n" + strings.Join(diffs, "\n"))
	}
	return nil
}

func indent(s string) string {
	if s == "" {
		return "    (nothing)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// removeRun removes every container and image of this run, whatever the
// tests' own cleanups managed.
func removeRun() error {
	var errs []error
	if ids, err := docker("ps", "-aq", "--filter", "label="+runLabel); err != nil {
		errs = append(errs, err)
	} else if ids != "" {
		_, err := docker(append([]string{"rm", "-f", "-v"}, strings.Fields(ids)...)...)
		errs = append(errs, err)
	}
	for _, image := range []string{sigguardImage, workloadImage} {
		if image == "" {
			continue
		}
		if _, err := docker("image", "inspect", image); err == nil {
			_, err := docker("rmi", image)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
