package bench

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/guard"
	benchbpf "github.com/sigguard/sigguard/internal/bench/bpf"
	"github.com/sigguard/sigguard/internal/kernfs"
)

// Options say how much to measure.
type Options struct {
	Runs int // escape-window runs per approach
	// Self is the sigguard binary: it plays the offenders and is timed
	// starting up.
	Self string
	// Only, if set, names the steps to run (see Steps); all run otherwise.
	Only []string
	// Progress, if set, hears what the bench is doing.
	Progress func(format string, args ...any)
}

// bencher holds what every measurement shares: a cgroup of its own (every
// process the bench starts lives and dies in it) and the measuring programs.
type bencher struct {
	opts  Options
	cg    *kernfs.OwnCgroup
	empty *kernfs.OwnCgroup // a cgroup nothing runs in: a rule scoped to it matches no caller
	objs  benchbpf.BenchObjects
	links []link.Link
	tmp   string
}

// Run measures everything and cleans up: no process it started and no
// program it loaded outlives it.
func Run(ctx context.Context, opts Options) (_ *Report, err error) {
	if opts.Runs <= 0 {
		opts.Runs = 100
	}
	if opts.Progress == nil {
		opts.Progress = func(string, ...any) {}
	}
	b := &bencher{opts: opts}
	defer func() { err = errors.Join(err, b.close()) }()
	if err := b.setUp(); err != nil {
		return nil, err
	}
	r := &Report{Runs: opts.Runs}
	r.Machine = describeMachine()
	for _, s := range b.steps() {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		if len(opts.Only) > 0 && !slices.Contains(opts.Only, s.key) {
			continue
		}
		opts.Progress("bench: %s", s.name)
		r.Steps = append(r.Steps, s.key)
		if err := s.run(ctx, r); err != nil {
			return r, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return r, nil
}

// step is one part of the bench: key names it on the command line.
type step struct {
	key, name string
	run       func(context.Context, *Report) error
}

func (b *bencher) steps() []step {
	return []step{
		{"escape", "escape window", b.escapeWindow},
		{"overhead", "overhead", b.overhead},
		{"hooks", "hook run time", b.hookCost},
		{"throughput", "event throughput", b.throughput},
		{"endtoend", "end to end", b.endToEnd},
		{"footprint", "start-up and footprint", b.startup},
	}
}

// Steps are the keys of the bench's parts, in the order they run.
func Steps() []string {
	var keys []string
	for _, s := range (&bencher{}).steps() {
		keys = append(keys, s.key)
	}
	return keys
}

func (b *bencher) setUp() (err error) {
	if b.tmp, err = os.MkdirTemp("", "sigguard-bench-"); err != nil {
		return err
	}
	if b.cg, err = kernfs.NewCgroup("", "sigguard-bench"); err != nil {
		return err
	}
	if b.empty, err = b.cg.Child("empty"); err != nil {
		return err
	}
	cg, err := kernfs.ResolveCgroup(b.cg.Path)
	if err != nil {
		return err
	}
	spec, err := benchbpf.LoadBench()
	if err != nil {
		return err
	}
	if err := spec.Variables["cgroup_id"].Set(cg.ID); err != nil {
		return err
	}
	if err := spec.Variables["cgroup_level"].Set(uint32(cg.Level)); err != nil {
		return err
	}
	if err := spec.LoadAndAssign(&b.objs, nil); err != nil {
		return fmt.Errorf("load bench programs: %w", err)
	}
	return nil
}

// stamp has the kernel timestamp every escape run: the first offending
// call and the exit. Only then: the overhead figures must not include it.
func (b *bencher) stamp() error {
	first, err := link.Tracepoint("syscalls", "sys_enter_ptrace", b.objs.BenchFirstCall, nil)
	if err != nil {
		return err
	}
	b.links = append(b.links, first)
	exit, err := link.AttachTracing(link.TracingOptions{Program: b.objs.BenchExit})
	if err != nil {
		return err
	}
	b.links = append(b.links, exit)
	return nil
}

func (b *bencher) unstamp() error {
	var errs []error
	for _, l := range b.links {
		errs = append(errs, l.Close())
	}
	b.links = nil
	return errors.Join(errs...)
}

func (b *bencher) close() error {
	errs := []error{b.unstamp(), b.objs.Close()}
	if b.empty != nil {
		errs = append(errs, b.empty.Destroy())
	}
	if b.cg != nil {
		errs = append(errs, b.cg.Destroy())
	}
	if b.tmp != "" {
		os.RemoveAll(b.tmp)
	}
	return errors.Join(errs...)
}

// offender starts the sigguard binary as an offender in the bench cgroup.
func (b *bencher) offender(args ...string) *exec.Cmd {
	return b.cg.Command(b.opts.Self, append([]string{OffenderCommand}, args...)...)
}

// flood runs procs offenders, each making calls failing ptrace calls at
// rate calls/s (0: flat out), and waits for all of them.
func (b *bencher) flood(procs, rate, calls int) error {
	var started []*exec.Cmd
	var errs []error
	for i := 0; i < procs; i++ {
		o := b.offender("paced", strconv.Itoa(rate), strconv.Itoa(calls))
		if err := o.Start(); err != nil {
			errs = append(errs, err)
			break
		}
		started = append(started, o)
	}
	for _, o := range started {
		if err := o.Wait(); err != nil {
			errs = append(errs, fmt.Errorf("offender: %w", err))
		}
	}
	return errors.Join(errs...)
}

// startBinary runs the sigguard binary as a user runs it, scoped to the
// bench cgroup in audit mode, JSON lines to stdout and JSON logs to
// stderr, and returns once it is ready.
func (b *bencher) startBinary(stdout, stderr io.Writer) (*exec.Cmd, error) {
	ready := filepath.Join(b.tmp, "ready-binary")
	os.Remove(ready)
	cmd := exec.Command(b.opts.Self, "--cgroup", b.cg.Path, "--audit", "--output", "json",
		"--log-format", "json", "--ready-file", ready)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	if err := waitForFile(ready, 10*time.Second); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, err
	}
	return cmd, nil
}

// Approach is one way of answering a forbidden call.
type Approach struct {
	Name string `json:"name"`
	// Calls that returned to the offender after its first offending call.
	Escaped Summary `json:"calls_escaped"`
	// From the first offending call's entry to the process's exit, in µs,
	// both stamped by the kernel.
	LatencyMicros Summary `json:"latency_us"`
}

// escapeWindow runs the same offender against each approach.
func (b *bencher) escapeWindow(ctx context.Context, r *Report) (err error) {
	if err := b.stamp(); err != nil {
		return err
	}
	defer func() { err = errors.Join(err, b.unstamp()) }()
	type approach struct {
		name  string
		start func() (stop func() error, err error)
		load  bool
	}
	for _, a := range []approach{
		{"sigguard (in-kernel signal)", b.sigguard, false},
		{"sigguard, both CPUs loaded", b.sigguard, true},
		{"ring buffer + Go reader kills by pidfd", b.ringBufferReader, false},
		{"hash map polled every 1 ms", b.mapPoller(time.Millisecond), false},
		{"hash map polled every 10 ms", b.mapPoller(10 * time.Millisecond), false},
	} {
		b.opts.Progress("bench: escape window: %s (%d runs)", a.name, b.opts.Runs)
		stop, err := a.start()
		if err != nil {
			return fmt.Errorf("%s: %w", a.name, err)
		}
		var hogs []*exec.Cmd
		if a.load {
			hogs, err = b.loadCPUs()
		}
		var result Approach
		if err == nil {
			result, err = b.escapeRuns(ctx, a.name)
		}
		for _, h := range hogs {
			h.Process.Kill()
			h.Wait()
		}
		if serr := stop(); err == nil {
			err = serr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", a.name, err)
		}
		r.Escape = append(r.Escape, result)
	}
	return nil
}

// loadCPUs starts one spinning process per CPU in the bench cgroup.
func (b *bencher) loadCPUs() ([]*exec.Cmd, error) {
	var hogs []*exec.Cmd
	for i := 0; i < runtime.NumCPU(); i++ {
		h := b.offender("hog")
		if err := h.Start(); err != nil {
			return hogs, err
		}
		hogs = append(hogs, h)
	}
	return hogs, nil
}

// escapeCalls caps an offender that nothing stops: ~10 s of calls.
const escapeCalls = 20_000_000

func (b *bencher) escapeRuns(ctx context.Context, name string) (Approach, error) {
	count := filepath.Join(b.tmp, "count")
	var escaped, latency []float64
	for i := 0; i < b.opts.Runs && ctx.Err() == nil; i++ {
		if err := os.WriteFile(count, make([]byte, 8), 0o600); err != nil {
			return Approach{}, err
		}
		cmd := b.offender("loop", strconv.Itoa(escapeCalls), count)
		_ = cmd.Run() // it is meant to die
		pid := uint32(cmd.Process.Pid)
		raw, err := os.ReadFile(count)
		if err != nil {
			return Approach{}, err
		}
		var first, exit uint64
		if err := b.objs.FirstCall.Lookup(pid, &first); err != nil {
			return Approach{}, fmt.Errorf("run %d: no first call recorded: %w", i, err)
		}
		if err := b.objs.Exited.Lookup(pid, &exit); err != nil {
			return Approach{}, fmt.Errorf("run %d: no exit recorded: %w", i, err)
		}
		b.objs.FirstCall.Delete(pid)
		b.objs.Exited.Delete(pid)
		escaped = append(escaped, float64(binary.NativeEndian.Uint64(raw)))
		latency = append(latency, float64(exit-first)/1e3)
	}
	return Approach{Name: name, Escaped: Summarize(escaped), LatencyMicros: Summarize(latency)}, ctx.Err()
}

// sigguard is the tool as it ships: SIGKILL sent by the kernel program.
func (b *bencher) sigguard() (func() error, error) {
	g, err := guard.Start(guard.Config{Rules: []guard.Rule{{
		Name: "bench", Match: guard.Matchers{Cgroup: []string{b.cg.Path}},
		Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL,
	}}})
	if err != nil {
		return nil, err
	}
	return runGuard(g, func(*guard.Event) error { return nil }), nil
}

// ringBufferReader is the classic design done as well as Go allows: the
// kernel only reports (sigguard in audit mode), and the reader kills each
// reported process through a pidfd, which cannot hit a recycled pid.
func (b *bencher) ringBufferReader() (func() error, error) {
	g, err := guard.Start(guard.Config{Rules: []guard.Rule{{
		Name: "bench", Match: guard.Matchers{Cgroup: []string{b.cg.Path}},
		Action: guard.ActionAudit, Signal: syscall.SIGKILL,
	}}})
	if err != nil {
		return nil, err
	}
	killed := map[int]bool{}
	return runGuard(g, func(ev *guard.Event) error {
		if !killed[ev.PID] {
			killed[ev.PID] = true
			killByPidfd(ev.PID)
		}
		return nil
	}), nil
}

// mapPoller is the tutorial's "traditional" design: the kernel notes the
// offender in a hash map that user space polls.
func (b *bencher) mapPoller(every time.Duration) func() (func() error, error) {
	return func() (func() error, error) {
		l, err := link.Tracepoint("syscalls", "sys_enter_ptrace", b.objs.BenchFlag, nil)
		if err != nil {
			return nil, err
		}
		done := make(chan struct{})
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			tick := time.NewTicker(every)
			defer tick.Stop()
			var pid uint32
			var stamp uint64
			for {
				select {
				case <-done:
					return
				case <-tick.C:
				}
				var due []uint32
				for it := b.objs.Flagged.Iterate(); it.Next(&pid, &stamp); {
					due = append(due, pid)
				}
				for _, p := range due {
					killByPidfd(int(p))
					b.objs.Flagged.Delete(p)
				}
			}
		}()
		return func() error {
			close(done)
			<-stopped
			return l.Close()
		}, nil
	}
}

func killByPidfd(pid int) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return // already gone
	}
	unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	unix.Close(fd)
}

// runGuard reads g's events in the background; the returned stop ends the
// reading and unloads g.
func runGuard(g *guard.Guard, handle func(*guard.Event) error) func() error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx, handle) }()
	return func() error {
		cancel()
		return errors.Join(<-done, g.Close())
	}
}

// Overhead is ns per call of one syscall under one configuration.
type Overhead struct {
	Config  string  `json:"config"`
	Syscall string  `json:"syscall"`
	Median  float64 `json:"median_ns"`
	Min     float64 `json:"min_ns"`
}

// The overhead configurations.
const (
	configNothing     = "nothing attached"
	configNotMatching = "sigguard, caller not matching"
	configReported    = "sigguard, matching, audit with events"
	configWholeTable  = "whole-table hook (raw_syscalls/sys_enter), not matching"
)

const (
	overheadRounds = 15
	overheadCalls  = 200_000
)

// overhead times getpid and a failing ptrace in a child process (sigguard
// never matches its own process) under each configuration.
func (b *bencher) overhead(ctx context.Context, r *Report) error {
	for _, c := range []struct {
		name  string
		start func() (func() error, error)
	}{
		{configNothing, func() (func() error, error) { return func() error { return nil }, nil }},
		{configNotMatching, b.guardScopedTo(b.empty.Path, guard.ActionAudit)},
		{configReported, b.guardScopedTo(b.cg.Path, guard.ActionAudit)},
		{configWholeTable, b.wholeTable},
	} {
		stop, err := c.start()
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		for _, sc := range []string{"getpid", "ptrace"} {
			per, err := b.timeSyscall(sc)
			if err != nil {
				stop()
				return err
			}
			s := Summarize(per)
			r.Overhead = append(r.Overhead, Overhead{Config: c.name, Syscall: sc, Median: s.Median, Min: s.Min})
		}
		if err := stop(); err != nil {
			return err
		}
	}
	return nil
}

func (b *bencher) guardScopedTo(cgroup string, action guard.Action) func() (func() error, error) {
	return func() (func() error, error) {
		g, err := guard.Start(guard.Config{Rules: []guard.Rule{{
			Name: "bench", Match: guard.Matchers{Cgroup: []string{cgroup}}, Action: action, Signal: syscall.SIGKILL,
		}}})
		if err != nil {
			return nil, err
		}
		return runGuard(g, func(*guard.Event) error { return nil }), nil
	}
}

func (b *bencher) wholeTable() (func() error, error) {
	l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sys_enter", Program: b.objs.BenchWholeTable})
	if err != nil {
		return nil, err
	}
	return l.Close, nil
}

func (b *bencher) timeSyscall(which string) ([]float64, error) {
	out, err := b.offender("time", which, strconv.Itoa(overheadRounds), strconv.Itoa(overheadCalls)).Output()
	if err != nil {
		return nil, fmt.Errorf("timing %s: %w", which, err)
	}
	var per []float64
	if err := json.Unmarshal(out, &per); err != nil {
		return nil, fmt.Errorf("timing %s: %q: %w", which, out, err)
	}
	return per, nil
}

// Throughput is one point of the event sweep.
type Throughput struct {
	Processes   int        `json:"processes"`
	RatePerProc int        `json:"offered_rate_per_process"` // calls/s; 0: flat out
	Seconds     float64    `json:"seconds"`
	Accounting  Accounting `json:"accounting"`
	Exact       bool       `json:"exact"`
	OfferedRate float64    `json:"offered_per_second"`
	Drained     float64    `json:"delivered_per_second"`
	ReaderCPU   float64    `json:"reader_cpu"` // share of one CPU
}

// throughput sweeps offered event rates in audit mode and checks that
// every call is delivered or counted as lost.
func (b *bencher) throughput(ctx context.Context, r *Report) error {
	var delivered atomic.Uint64
	g, err := guard.Start(guard.Config{Rules: []guard.Rule{{
		Name: "bench", Match: guard.Matchers{Cgroup: []string{b.cg.Path}}, Action: guard.ActionAudit, Signal: syscall.SIGKILL,
	}}})
	if err != nil {
		return err
	}
	stop := runGuard(g, func(ev *guard.Event) error {
		if ev.Kind == guard.KindIntervention {
			delivered.Add(1)
		}
		return nil
	})
	defer stop()
	for _, p := range []struct{ procs, rate, calls int }{
		{1, 50_000, 100_000}, {1, 200_000, 400_000}, {2, 200_000, 400_000},
		{1, 0, 1_000_000}, {2, 0, 1_000_000},
	} {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		before, err := g.Stats()
		if err != nil {
			return err
		}
		deliveredBefore := delivered.Load()
		cpuBefore := processCPU()
		began := time.Now()
		if err := b.flood(p.procs, p.rate, p.calls); err != nil {
			return err
		}
		elapsed := time.Since(began)
		offered := uint64(p.procs * p.calls)
		// Let the reader catch up with what the kernel kept.
		var after guard.Stats
		for deadline := time.Now().Add(5 * time.Second); ; {
			if after, err = g.Stats(); err != nil {
				return err
			}
			got := delivered.Load() - deliveredBefore
			if got+after.EventsLost-before.EventsLost >= offered || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		wall := time.Since(began)
		a := Accounting{
			Offered:   offered,
			Matched:   after.Interventions - before.Interventions,
			Delivered: delivered.Load() - deliveredBefore,
			Lost:      after.EventsLost - before.EventsLost,
		}
		r.Throughput = append(r.Throughput, Throughput{
			Processes: p.procs, RatePerProc: p.rate, Seconds: elapsed.Seconds(), Accounting: a, Exact: a.Exact(),
			OfferedRate: float64(offered) / elapsed.Seconds(),
			Drained:     float64(a.Delivered) / wall.Seconds(),
			ReaderCPU:   (processCPU() - cpuBefore).Seconds() / wall.Seconds(),
		})
	}
	return nil
}

// Footprint is the start-up time and memory of the sigguard binary.
type Footprint struct {
	ReadyMillis Summary `json:"exec_to_ready_ms"`
	RSSMiB      Summary `json:"rss_mib"` // the sigguard process alone, at ready
	// Every process sigguard runs, at ready and after a flood.
	Flood FloodFootprint `json:"flood"`
}

// startup times the binary from exec to its ready file, scoped to a cgroup
// nothing runs in, and reads its resident memory once ready and settled.
func (b *bencher) startup(ctx context.Context, r *Report) error {
	var ready, rss []float64
	for i := 0; i < 10 && ctx.Err() == nil; i++ {
		file := filepath.Join(b.tmp, "ready")
		os.Remove(file)
		cmd := exec.Command(b.opts.Self, "--cgroup", b.empty.Path, "--audit", "--ready-file", file)
		began := time.Now()
		if err := cmd.Start(); err != nil {
			return err
		}
		for {
			if _, err := os.Stat(file); err == nil {
				break
			}
			if time.Since(began) > 10*time.Second {
				cmd.Process.Kill()
				cmd.Wait()
				return errors.New("sigguard did not become ready within 10 s")
			}
			time.Sleep(200 * time.Microsecond)
		}
		ready = append(ready, float64(time.Since(began).Microseconds())/1e3)
		// sigguard hands back what loading left on its heap right after
		// it says it is ready.
		time.Sleep(settle)
		rss = append(rss, residentMiB(cmd.Process.Pid))
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("sigguard exited with %w", err)
		}
	}
	r.Footprint = Footprint{ReadyMillis: Summarize(ready), RSSMiB: Summarize(rss)}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	flood, err := b.floodFootprint()
	r.Footprint.Flood = flood
	return err
}

func residentMiB(pid int) float64 {
	return memoryOf(pid, "sigguard").RSS
}

func processCPU() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
