package container

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// container is one the test started; it is removed at cleanup.
type container struct {
	id string
}

// runContainer starts a detached container of this run: docker run -d
// with args (options, then image and command).
func runContainer(t testing.TB, args ...string) *container {
	t.Helper()
	id, err := docker(append([]string{"run", "-d", "--label", runLabel}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	c := &container{id: id}
	t.Cleanup(func() {
		// A test may have removed it already.
		if _, err := docker("rm", "-f", "-v", c.id); err != nil && !strings.Contains(err.Error(), "No such container") {
			t.Errorf("remove container: %v", err)
		}
	})
	return c
}

// startWorkload starts a container of the workload image whose pid 1
// sleeps, with no network.
func startWorkload(t testing.TB, args ...string) *container {
	t.Helper()
	opts := append([]string{"--network", "none"}, args...)
	return runContainer(t, append(opts, workloadImage, "sleep", "100000")...)
}

func (c *container) inspect(t testing.TB, format string) string {
	t.Helper()
	out, err := docker("inspect", "--format", format, c.id)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pid is the host pid of the container's first process.
func (c *container) pid(t testing.TB) int {
	t.Helper()
	pid, err := strconv.Atoi(c.inspect(t, "{{.State.Pid}}"))
	if err != nil || pid == 0 {
		t.Fatalf("container %.12s has no process (%q): %s", c.id, c.inspect(t, "{{.State.Status}}"), c.logs(t))
	}
	return pid
}

// cgroup is the container's cgroup v2 directory as /proc/PID/cgroup shows
// it on the host: what a policy names (/docker/<id> with the cgroupfs
// driver).
func (c *container) cgroup(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", c.pid(t)))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if path, ok := strings.CutPrefix(line, "0::"); ok {
			return path
		}
	}
	t.Fatalf("container %.12s has no cgroup v2 line in /proc/PID/cgroup:\n%s", c.id, b)
	return ""
}

// logs is the end of the container's output, for a failure's message.
func (c *container) logs(t testing.TB) string {
	t.Helper()
	const keep = 20
	out, _ := exec.Command(dockerClient(), "logs", "--tail", strconv.Itoa(keep), c.id).CombinedOutput()
	return fmt.Sprintf("(the last %d lines of its log)\n%s", keep, out)
}

// stdout is the container's standard output alone: sigguard's events.
func (c *container) stdout(t testing.TB) string {
	t.Helper()
	out, err := docker("logs", c.id)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// exec runs a shell script in the container and returns its output and
// exit status.
func (c *container) exec(t testing.TB, script string) (string, int) {
	t.Helper()
	out, err := exec.Command(dockerClient(), "exec", c.id, "sh", "-c", script).CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// wait waits for the container to exit and returns its exit status.
func (c *container) wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	cmd := exec.Command(dockerClient(), "wait", c.id)
	done := time.AfterFunc(timeout, func() { cmd.Process.Kill() })
	out, err := cmd.Output()
	done.Stop()
	if err != nil {
		t.Fatalf("container %.12s did not exit within %s: %v", c.id, timeout, err)
	}
	code, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// Exit statuses of `timeout N CMD`: the command killed by SIGKILL, and
// the time running out (CMD got SIGTERM: a debugger detaches and exits).
const (
	killed   = 128 + 9
	timedOut = 124
)

// debugIn runs a real debugger in c against a process of c's own (a
// sleep it starts), under a 5 s timeout, and returns the debugger's pid
// in the container's pid namespace and timeout's exit status.
func (c *container) debugIn(t testing.TB, debugger string) (nsPid, status int) {
	t.Helper()
	cmd, ok := debuggerCommands[debugger]
	if !ok {
		t.Fatalf("no command for debugger %q", debugger)
	}
	out, _ := c.exec(t, `sleep 1000 & target=$!
timeout 5 sh -c 'echo caller=$$; exec "$@"' sh `+cmd+` $target
echo status=$?
kill -9 $target`)
	return scriptValue(t, out, "caller"), scriptValue(t, out, "status")
}

// debuggerCommands attach to the pid that follows them.
var debuggerCommands = map[string]string{
	"strace": "strace -o /dev/null -p",
	"gdb":    "gdb -batch -nx -p",
}

// scriptValue reads NAME=NUMBER from a script's output.
func scriptValue(t testing.TB, out, name string) int {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, name+"="); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err == nil {
				return n
			}
		}
	}
	t.Fatalf("no %s= in the script's output:\n%s", name, out)
	return 0
}

// offenderIn runs one call of an offender route (attach, mem-open...) in
// c against a sleep of c's own, and returns the offender's exit status.
func (c *container) offenderIn(t testing.TB, route string) int {
	t.Helper()
	out, _ := c.exec(t, "sleep 1000 & target=$!\noffender once "+route+" $target\necho status=$?\nkill -9 $target")
	return scriptValue(t, out, "status")
}
