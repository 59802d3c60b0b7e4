// Command guestinit is PID 1 in the kernel matrix's QEMU guests: it mounts
// the file systems sigguard and its tests use, runs the test binaries the
// plan names, prints each one's exit status on a marker line the host
// reads, and powers the machine off.
//
// It must not import cilium/ebpf (or anything that does): that package's
// init raises RLIMIT_MEMLOCK by probing BPF, which fails before /proc is
// mounted, and an init that dies takes the kernel with it.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/test/kernels/plan"
)

func main() {
	if filepath.Base(os.Args[0]) != "init" {
		fmt.Fprintln(os.Stderr, "guestinit: run only as /init in a kernel-matrix guest")
		os.Exit(2)
	}
	if err := mountAll(); err != nil {
		fmt.Println(plan.MarkerPrefix+"error", err)
		powerOff()
	}
	p, err := readPlan()
	if err != nil {
		fmt.Println(plan.MarkerPrefix+"error", err)
		powerOff()
	}
	fmt.Println(plan.MarkerPrefix + "kernel " + kernelRelease())
	for _, run := range p.Runs {
		fmt.Printf("%sexit %s %d\n", plan.MarkerPrefix, run.Name, runOne(p.Env, run))
	}
	fmt.Println(plan.MarkerPrefix + "done")
	powerOff()
}

// mounts are what the tests expect of a booted system: cgroup2 for the
// test cgroups, tracefs for syscall tracepoints, bpffs for pins,
// securityfs for the active LSM list, and a writable /tmp.
var mounts = []struct{ source, target, fstype string }{
	{"devtmpfs", "/dev", "devtmpfs"},
	{"proc", "/proc", "proc"},
	{"sysfs", "/sys", "sysfs"},
	{"securityfs", "/sys/kernel/security", "securityfs"},
	{"debugfs", "/sys/kernel/debug", "debugfs"},
	{"tracefs", "/sys/kernel/tracing", "tracefs"},
	{"bpffs", "/sys/fs/bpf", "bpf"},
	{"cgroup2", "/sys/fs/cgroup", "cgroup2"},
	{"tmpfs", "/tmp", "tmpfs"},
	{"tmpfs", "/run", "tmpfs"},
}

func mountAll() error {
	for _, m := range mounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", m.target, err)
		}
		if err := unix.Mount(m.source, m.target, m.fstype, 0, ""); err != nil && err != unix.EBUSY {
			return fmt.Errorf("mount %s on %s: %w (is it built into this kernel?)", m.fstype, m.target, err)
		}
	}
	return nil
}

func readPlan() (*plan.Plan, error) {
	b, err := os.ReadFile(plan.Path)
	if err != nil {
		return nil, fmt.Errorf("read the plan: %w (the initramfs lacks it)", err)
	}
	var p plan.Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("parse the plan: %w", err)
	}
	return &p, nil
}

// runOne runs a test binary with the console as its output and returns
// its exit status (-1 when it could not start or died by a signal).
func runOne(env []string, run plan.Run) int {
	fmt.Println(plan.MarkerPrefix + "run " + run.Name + " " + strings.Join(run.Args, " "))
	cmd := exec.Command(run.Path, run.Args...)
	cmd.Dir = run.Dir
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stdout
	if err := cmd.Start(); err != nil {
		fmt.Printf("%s: %v\n", run.Name, err)
		return -1
	}
	return waitReapingOrphans(run.Name, cmd.Process.Pid)
}

// waitReapingOrphans waits for pid and, as PID 1 must, reaps every orphan
// that exits meanwhile: the children of processes a test killed are
// reparented here, and an unreaped zombie stays listed in its cgroup
// (seen on 5.10), so the test could not remove the cgroup.
func waitReapingOrphans(name string, pid int) int {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			fmt.Printf("%s: wait: %v\n", name, err)
			return -1
		}
		if got != pid {
			continue
		}
		if ws.Signaled() {
			fmt.Printf("%s: %v\n", name, ws.Signal())
			return 128 + int(ws.Signal())
		}
		return ws.ExitStatus()
	}
}

func kernelRelease() string {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(uts.Release[:])
}

// powerOff ends the guest; QEMU (run with -no-reboot) exits with it.
func powerOff() {
	unix.Sync()
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Println(plan.MarkerPrefix+"error power off:", err)
	}
	// PID 1 must not return: the kernel would panic (and, with panic=-1,
	// reboot, which -no-reboot turns into QEMU's exit as well).
	for {
		syscall.Pause()
	}
}
