package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// bootTimeout bounds one guest, boot to power-off. A hung guest (a test
// that never ends, a kernel that never reaches /init) fails its run. The
// longest, sid's with the bypass suite, took 4 minutes booted alone; on a
// busy host its guest took 4m10s without the suite, so 6 minutes would
// leave it under a minute to spare.
const bootTimeout = 8 * time.Minute

// qemuArgs boots kernel and initrd on the serial console. /dev/kvm on
// the machines this runs on is PVM, which stock kernels cannot run
// under, so the CPU is emulated. The two vCPUs share one host thread
// (thread=single): with a thread per vCPU (thread=multi), a vCPU now and
// then ran a stale translation of kernel text another vCPU had just
// patched, and the 7.2 guest died of "Oops: int3" in
// trace_syscall_enter, at the static branch a syscall tracepoint's
// attach flips through the int3 the kernel plants while it patches.
// Attaching and detaching is what these tests do all day. Round-robin
// TCG runs one vCPU at a time, so a patch is seen by the next vCPU's
// translation; with two guests booted at once on two host cores it is
// also faster (the whole matrix 5m42s against 6m27s).
// -no-reboot turns the guest's power-off (or a panic, with panic=-1)
// into QEMU's exit.
func qemuArgs(kernel, initrd, lsm string) []string {
	return []string{
		"-accel", "tcg,thread=single", "-cpu", "max", "-smp", "2", "-m", "1G",
		"-nodefaults", "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
		"-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 quiet lsm=" + lsm,
	}
}

// boot runs one guest to its end, copying the console to log (and to
// stdout when echo is set), and returns the console's lines.
func boot(ctx context.Context, kernel, initrd, lsm, log string, echo bool) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, bootTimeout)
	defer cancel()
	f, err := os.Create(log)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", qemuArgs(kernel, initrd, lsm)...)
	cmd.Stderr = f
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start qemu-system-x86_64: %w (the matrix installs it; run as root)", err)
	}
	var sink io.Writer = f
	if echo {
		sink = io.MultiWriter(f, os.Stdout)
	}
	lines := readConsole(stdout, sink)
	err = cmd.Wait()
	if ctx.Err() != nil {
		return lines, fmt.Errorf("the guest did not power off within %s", bootTimeout)
	}
	if err != nil {
		return lines, fmt.Errorf("qemu: %w", err)
	}
	return lines, nil
}

// readConsole collects the console's lines, without the serial line's
// carriage returns, until QEMU closes it.
func readConsole(r io.Reader, sink io.Writer) []string {
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		lines = append(lines, line)
		fmt.Fprintln(sink, line)
	}
	if err := sc.Err(); err != nil && !errors.Is(err, os.ErrClosed) {
		fmt.Fprintln(sink, "kernels: reading the console:", err)
	}
	return lines
}
