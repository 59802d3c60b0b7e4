package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ProcessMemory is what one process holds resident, in MiB, from
// /proc/PID/status (and its proportional share, from smaps_rollup: a page
// several processes map, such as the binary's own, counts in each one's
// RSS but is split between them in PSS).
type ProcessMemory struct {
	Process string  `json:"process"` // "sigguard", or the command it started
	RSS     float64 `json:"rss_mib"`
	Anon    float64 `json:"rss_anon_mib"`
	File    float64 `json:"rss_file_mib"`
	Shmem   float64 `json:"rss_shmem_mib"`
	PSS     float64 `json:"pss_mib"`
}

// FloodFootprint is the memory of sigguard and of every process it
// started (its watchdog), at ready and after a flood of events.
type FloodFootprint struct {
	Events     uint64          `json:"events_offered"`
	AtReady    []ProcessMemory `json:"at_ready"`
	AfterFlood []ProcessMemory `json:"after_flood"`
}

// TotalRSS is the sum of the processes' RSS: what each holds, pages they
// share counted in each.
func TotalRSS(ps []ProcessMemory) float64 {
	var sum float64
	for _, p := range ps {
		sum += p.RSS
	}
	return sum
}

// settle is how long after ready memory is read: sigguard hands back the
// heap that loading left, and its watchdog drops what it mapped to start.
const settle = 300 * time.Millisecond

const (
	floodOffenders = 2
	floodCalls     = 1_000_000 // per offender: ~1.5 s flat out here
)

// floodFootprint runs the binary as it ships (audit mode, JSON lines to
// /dev/null) scoped to the bench cgroup, floods it from two offenders
// flat out, and reads the memory of it and of its children at ready and
// once the flood is drained.
func (b *bencher) floodFootprint() (FloodFootprint, error) {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return FloodFootprint{}, err
	}
	defer devNull.Close()
	cmd, err := b.startBinary(devNull, nil)
	if err != nil {
		return FloodFootprint{}, err
	}
	stop := func() error {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("sigguard exited with %w", err)
		}
		return nil
	}
	time.Sleep(settle)
	f := FloodFootprint{Events: floodOffenders * floodCalls, AtReady: processTreeMemory(cmd.Process.Pid)}
	if err := b.flood(floodOffenders, 0, floodCalls); err != nil {
		return f, errors.Join(err, stop())
	}
	// The reader drains what the ring buffer kept within milliseconds.
	time.Sleep(500 * time.Millisecond)
	f.AfterFlood = processTreeMemory(cmd.Process.Pid)
	return f, stop()
}

func waitForFile(file string, limit time.Duration) error {
	began := time.Now()
	for {
		if _, err := os.Stat(file); err == nil {
			return nil
		}
		if time.Since(began) > limit {
			return fmt.Errorf("sigguard did not become ready within %v", limit)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// processTreeMemory reads pid's memory and that of every process below it.
func processTreeMemory(pid int) []ProcessMemory {
	return treeMemory(pid, "sigguard")
}

func treeMemory(pid int, name string) []ProcessMemory {
	out := []ProcessMemory{memoryOf(pid, name)}
	for _, child := range childrenOf(pid) {
		out = append(out, treeMemory(child, commandOf(child))...)
	}
	return out
}

// childrenOf lists pid's children, from every thread's children file
// (a child belongs to the thread that started it).
func childrenOf(pid int) []int {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var out []int
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// commandOf names a child by its arguments after the binary
// ("__watchdog"), or its command name.
func commandOf(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	args := bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0})
	if len(args) > 1 {
		return "sigguard " + string(args[1])
	}
	return filepath.Base(string(args[0]))
}

func memoryOf(pid int, name string) ProcessMemory {
	dir := "/proc/" + strconv.Itoa(pid) + "/"
	status, _ := os.ReadFile(dir + "status")
	rollup, _ := os.ReadFile(dir + "smaps_rollup")
	return ProcessMemory{
		Process: name,
		RSS:     kBField(status, "VmRSS:"),
		Anon:    kBField(status, "RssAnon:"),
		File:    kBField(status, "RssFile:"),
		Shmem:   kBField(status, "RssShmem:"),
		PSS:     kBField(rollup, "Pss:"),
	}
}

// kBField reads a "Name:   123 kB" line as MiB.
func kBField(text []byte, name string) float64 {
	for _, line := range strings.Split(string(text), "\n") {
		if v, ok := strings.CutPrefix(line, name); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}
