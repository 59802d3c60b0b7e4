package guard_test

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/testenv"
	"github.com/sigguard/sigguard/internal/uring"
	"github.com/sigguard/sigguard/test/kernels/plan"
)

// effect is what an attack achieves when it goes through, as the test
// sees it in the victim.
type effect int

const (
	effectNone   effect = iota // nothing to look at in the victim: the call alone
	effectMarker               // the victim's marker word zeroed
	effectLoot                 // the victim's secret read and written to the loot file
	effectTraced               // the victim traced (or stopped) by the caller
)

// caller is who makes the offending call.
type caller int

const (
	callerProcess caller = iota // the offender itself, from any of its threads
	callerHelper                // a child sharing the offender's memory (vfork, CLONE_VM)
)

// thread is the thread an io_uring request completes in.
type thread int

const (
	fromAny       thread = iota
	fromSubmitter        // inline, in io_uring_enter: the offender's main thread
	fromIoThread         // one of io_uring's threads of the process (io-wq worker, SQPOLL)
)

// bypass is one way to another process's memory, with what the suite
// expects of it in the signal tier. In a deny tier every route is refused
// at the kernel's ptrace access check (those marked atEntry are killed at
// syscall entry instead), so none is open but the everyTier ones.
type bypass struct {
	route  string // the coverage table's name for it
	mode   string // `offender attack MODE PID`
	effect effect
	want   guard.Syscall // the syscall events name
	compat bool          // guard 32-bit syscalls too
	caller caller
	open   string // why the signal tier leaves it open; "" when it is caught
	race   string // why, caught in the signal tier, its effect may still land
	from   thread // where the signal tier's hook runs, when the route decides it
	notes  string // for the coverage table, in every tier
	// signalNotes and denyNotes are for the coverage table of the signal
	// tier and of a deny tier only.
	signalNotes, denyNotes string
	victim                 string // the victim's offender mode, when not "victim"
	// sharer: the caller shares its descriptor table with a process of its
	// own, which the kill reaches only where the kernel lets BPF signal
	// another task (Linux 6.13); before, the sharer writes every time.
	sharer bool
	// everyTier: open in the deny tiers too, which judge the kernel's
	// ATTACH-mode access checks only: the route passes READ-mode ones.
	everyTier bool
	// atEntry: the call never reaches the ptrace access check, so a deny
	// tier judges it at syscall entry, with the signal, as the signal tier
	// does (TRACEME, requests to a process not traced, perf_event_open).
	atEntry bool
}

var bypasses = []bypass{
	{route: "ptrace ATTACH, then POKEDATA", mode: "ptrace-attach-poke-marker", effect: effectMarker, want: guard.SyscallPtrace,
		signalNotes: "signal tier: the attach runs, the victim is resumed after the kill",
		denyNotes:   "the attach is refused: the victim is never stopped"},
	{route: "ptrace ATTACH, then PEEKDATA", mode: "ptrace-attach-peek-loot", effect: effectLoot, want: guard.SyscallPtrace},
	{route: "ptrace SEIZE", mode: "seize", effect: effectTraced, want: guard.SyscallPtrace},
	{route: "ptrace TRACEME", mode: "traceme", want: guard.SyscallPtrace, notes: "targets no other process", atEntry: true,
		denyNotes: "never reaches the access check: killed at syscall entry"},
	{route: "ptrace SETREGS", mode: "ptrace-setregs", want: guard.SyscallPtrace, notes: "every request is caught, attached or not",
		atEntry: true, denyNotes: "a request to a process the caller does not trace never reaches the access check: killed at syscall entry"},
	{route: "ptrace, pid with junk in the high bits", mode: "attach-hibits", effect: effectTraced, want: guard.SyscallPtrace},
	{route: "process_vm_readv", mode: "vm-readv-loot", effect: effectLoot, want: guard.SyscallProcessVMReadv},
	{route: "process_vm_writev", mode: "vm-writev-marker", effect: effectMarker, want: guard.SyscallProcessVMWritev},
	{route: "/proc/pid/mem: openat, pread", mode: "mem-read-loot", effect: effectLoot, want: guard.SyscallOpenat},
	{route: "/proc/pid/mem: openat, pwrite", mode: "mem-write-marker", effect: effectMarker, want: guard.SyscallOpenat},
	{route: "/proc/pid/mem: open", mode: "mem-open", want: guard.SyscallOpen},
	{route: "/proc/pid/mem: openat2", mode: "mem-openat2", want: guard.SyscallOpenat2},
	{route: "/proc/pid/mem: creat", mode: "mem-creat", want: guard.SyscallCreat},
	{route: "/proc/pid/mem: openat on a dirfd of /proc/pid", mode: "mem-dirfd", want: guard.SyscallOpenat},
	{route: "/proc/pid/mem: through a symlink", mode: "mem-symlink", want: guard.SyscallOpenat},
	{route: "pidfd_getfd", mode: "pidfd-getfd", want: guard.SyscallPidfdGetfd},
	{route: "perf_event_open", mode: "perf-open", want: guard.SyscallPerfEventOpen, atEntry: true,
		denyNotes: "judged at syscall entry in every tier: a caller with CAP_PERFMON passes no access check"},
	{route: "io_uring OPENAT, then READ", mode: "uring-read-loot", effect: effectLoot, want: guard.SyscallIoUring,
		from: fromIoThread, notes: "a first open of the path goes to an io-wq worker, which sends the signal; the whole process dies"},
	{route: "io_uring OPENAT, then WRITE", mode: "uring-write-marker", effect: effectMarker, want: guard.SyscallIoUring, from: fromIoThread},
	{route: "io_uring OPENAT2, then WRITE", mode: "uring-openat2-marker", effect: effectMarker, want: guard.SyscallIoUring, from: fromIoThread},
	{route: "io_uring OPENAT (path looked up before), then WRITE", mode: "uring-inline-marker", effect: effectMarker,
		want: guard.SyscallIoUring, from: fromSubmitter, notes: "completes inline, in io_uring_enter"},
	{route: "io_uring OPENAT + WRITE in an io-wq worker (IOSQE_ASYNC)", mode: "uring-async-marker", effect: effectMarker,
		want: guard.SyscallIoUring, from: fromIoThread},
	{route: "io_uring OPENAT + WRITE on an SQPOLL ring", mode: "uring-sqpoll-marker", effect: effectMarker,
		want: guard.SyscallIoUring, from: fromIoThread, notes: "completes in the SQPOLL thread or a worker"},
	{route: "io_uring OPENAT linked to a WRITE on the guessed fd", mode: "uring-link-marker", effect: effectMarker,
		want: guard.SyscallIoUring},
	{route: "io_uring OPENAT into a fixed-file slot, then WRITE", mode: "uring-direct-marker", effect: effectMarker,
		want: guard.SyscallIoUring, signalNotes: "the file is read from the ring's slot"},
	{route: "io_uring OPENAT with CQE_SKIP_SUCCESS, then io_uring WRITE", mode: "uring-skip-write-marker", effect: effectMarker,
		want: guard.SyscallIoUring, signalNotes: "no completion: caught when the WRITE looks the descriptor up",
		race: "the write runs in an io-wq worker, which drops the SIGKILL when it sees it and may finish the write (3 of 10 landed)"},
	{route: "io_uring OPENAT with CQE_SKIP_SUCCESS, then pwrite(2)", mode: "uring-skip-pwrite-marker", effect: effectMarker,
		want: guard.SyscallIoUring, open: "an open that posts no completion is not seen, nor is a write by syscall",
		notes: "deny tiers refuse the open itself"},
	{route: "io_uring OPENAT into a slot with CQE_SKIP_SUCCESS, then fixed WRITE", mode: "uring-skip-direct-marker", effect: effectMarker,
		want: guard.SyscallIoUring, open: "no completion, and fixed-file lookups have no tracepoint",
		notes: "deny tiers refuse the open itself"},
	{route: "thread: process_vm_writev", mode: "thread:vm-writev-marker", effect: effectMarker, want: guard.SyscallProcessVMWritev,
		notes: "from a thread other than the main one"},
	{route: "thread: ptrace ATTACH, then POKEDATA", mode: "thread:ptrace-attach-poke-marker", effect: effectMarker, want: guard.SyscallPtrace},
	{route: "thread: io_uring OPENAT, then WRITE", mode: "thread:uring-write-marker", effect: effectMarker, want: guard.SyscallIoUring},
	{route: "vfork child: process_vm_writev", mode: "vfork:vm-writev-marker", effect: effectMarker, want: guard.SyscallProcessVMWritev,
		caller: callerHelper, notes: "the child dies; its parent lives on"},
	{route: "vfork child: ptrace ATTACH", mode: "vfork:ptrace-attach", effect: effectTraced, want: guard.SyscallPtrace,
		caller: callerHelper, notes: "the child dies; its parent lives on"},
	{route: "CLONE_VM child: process_vm_writev", mode: "clonevm:vm-writev-marker", effect: effectMarker, want: guard.SyscallProcessVMWritev,
		caller: callerHelper, notes: "the child, sharing the offender's memory, dies; the offender lives on"},
	{route: "CLONE_VM child: ptrace ATTACH", mode: "clonevm:ptrace-attach", effect: effectTraced, want: guard.SyscallPtrace,
		caller: callerHelper, notes: "the child dies; the offender lives on"},
	{route: "32-bit ptrace ATTACH (int 0x80)", mode: "compat-attach", effect: effectTraced, want: guard.SyscallPtrace,
		open: "32-bit syscalls fire no syscall tracepoint", signalNotes: "caught with compat: true (next row)",
		denyNotes: "the access check judges 32-bit calls too"},
	{route: "32-bit ptrace ATTACH, compat: true", mode: "compat-attach", effect: effectTraced, want: guard.SyscallPtrace, compat: true,
		notes: "whole-table hook, costs every syscall"},
	{route: "32-bit open of /proc/pid/mem", mode: "compat-mem-open", want: guard.SyscallOpen,
		open: "32-bit syscalls fire no syscall tracepoint", signalNotes: "caught with compat: true (next row)",
		denyNotes: "the access check judges 32-bit calls too"},
	{route: "32-bit open of /proc/pid/mem, compat: true", mode: "compat-mem-open", want: guard.SyscallOpen, compat: true},
	{route: "CLONE_FILES sharer: openat of /proc/pid/mem, the sharer pwrites", mode: "files-sharer-mem-marker", effect: effectMarker,
		want: guard.SyscallOpenat, sharer: true,
		race: "the open installs the descriptor before its exit is judged; the kill then reaches the sharer too, a process of " +
			"its own sharing the descriptor table, but it can write in that instant (landed 3 of 20; deny tiers refuse the open)",
		denyNotes: "the open is refused: no descriptor is made"},
	{route: "CLONE_FILES sharer: pidfd_getfd of the victim's shared memfd, the sharer pwrites", mode: "files-sharer-getfd-marker",
		victim: "victim-shared", effect: effectMarker, want: guard.SyscallPidfdGetfd, sharer: true,
		signalNotes: "killed at entry, pidfd_getfd runs on and installs the descriptor; the kill reaches the sharer before it is there " +
			"(landed 0 of 20)",
		denyNotes: "pidfd_getfd is refused: no descriptor is made"},
	{route: "thread: pwrite racing another thread's openat of /proc/pid/mem", mode: "race-pwrite-mem-marker", effect: effectMarker,
		want: guard.SyscallOpenat, race: "the descriptor is in the shared table from fd_install until the kill at the open's " +
			"exit: a thread spinning on pwrite to its number can get there first (landed 51 of 220)",
		denyNotes: "the open is refused: no descriptor is made"},
	{route: "thread: dup2 swap racing another thread's openat of /proc/pid/mem, retried", mode: "race-swap-retry-mem-marker",
		effect: effectMarker, want: guard.SyscallOpenat,
		open: "a thread that copies the descriptor and puts /dev/null at its number between fd_install and the open's exit " +
			"leaves nothing to judge there",
		signalNotes: "one try in 15 wins (15 of 220; the others were caught), so the offender tries in fresh processes until one does",
		denyNotes:   "every try is refused, and killed; after 3 s of tries in fresh processes the offender makes one itself"},
	{route: "io_uring OPENAT (IOSQE_ASYNC) on a DEFER_TASKRUN ring, pwrite(2), then reap", mode: "uring-defer-pwrite-marker",
		effect: effectMarker, want: guard.SyscallIoUring, from: fromSubmitter,
		race: "the worker installs the descriptor, but the open's completion, where it is judged, waits until the submitter " +
			"asks for it (GETEVENTS): the pwrite landed before (20 of 20)",
		denyNotes: "the worker's open is refused: no descriptor is made"},
	{route: "io_uring OPENAT (IOSQE_ASYNC) on a DEFER_TASKRUN ring, pwrite(2), close, then reap", mode: "uring-defer-close-marker",
		effect: effectMarker, want: guard.SyscallIoUring, open: "the completion, posted when the submitter asks for it, names " +
			"a descriptor already closed", notes: "deny tiers refuse the open itself"},
	{route: "io_uring OPENAT (IOSQE_ASYNC) on a DEFER_TASKRUN ring, pwrite(2), exit without reaping", mode: "uring-defer-noreap-marker",
		effect: effectMarker, want: guard.SyscallIoUring, open: "a completion never asked for is never judged",
		notes: "deny tiers refuse the open itself"},
	{route: "/proc/pid/fd/N reopened (the victim's memfd), pwrite", mode: "proc-fd-reopen-marker", victim: "victim-shared",
		effect: effectMarker, want: guard.SyscallOpenat, everyTier: true,
		open:  "the link opens the victim's own file, not a procfs mem file, past a PTRACE_MODE_READ check only",
		notes: "open in deny tiers too: they judge ATTACH-mode checks"},
	{route: "/proc/pid/map_files/RANGE of a shared writable mapping, pwrite", mode: "map-files-marker", victim: "victim-shared",
		effect: effectMarker, want: guard.SyscallOpenat, everyTier: true,
		open:  "the link opens the file behind the mapping past a PTRACE_MODE_READ check (and CAP_SYS_ADMIN)",
		notes: "open in deny tiers too; only file-backed mappings, and only MAP_SHARED ones reach the victim's memory"},
	{route: "/proc/pid/environ read", mode: "environ-read", want: guard.SyscallOpenat, everyTier: true,
		open:  "only files named mem are judged, and the open checks PTRACE_MODE_READ only",
		notes: "open in deny tiers too; reads the environment block only, not the marker or the secret"},
}

// inTier is what is open, and what may land, of b in tier: a deny tier
// refuses every route at the kernel's ptrace access check; the signal
// tier leaves the declared routes open, and io_uring's too where the
// kernel has no hook for it.
func (b bypass) inTier(tier guard.Tier, uringHooked, sharersReached bool) (open, race string) {
	switch {
	case tier != guard.TierSignal && !b.everyTier:
		return "", ""
	case b.want == guard.SyscallIoUring && !uringHooked:
		return "this kernel has no io_uring tracepoint of the shape sigguard reads", ""
	case b.sharer && !sharersReached:
		return "", "the kill ends the caller's thread group only: the sharer, a process of its own sharing the descriptor " +
			"table, writes through the descriptor the call installed (landed 20 of 20 before Linux 6.13)"
	}
	return b.open, b.race
}

// notesIn is the coverage table's notes on b in tier, but for why it is
// open or racing.
func (b bypass) notesIn(tier guard.Tier) string {
	if tier == guard.TierSignal {
		return strings.Join(nonEmpty(b.notes, b.signalNotes), "; ")
	}
	return strings.Join(nonEmpty(b.notes, b.denyNotes), "; ")
}

// outcome is what one attack did, measured.
type outcome struct {
	killed   bool // the caller died of SIGKILL
	returned bool // the offending call returned to the caller
	errno    int  // what it returned
	events   []guard.Event
	landed   bool // the effect took place in the victim
	hook     string
}

// TestBypassSuite runs every attack the offender knows against a victim
// and checks that it is caught (the caller killed before its call returns,
// one event at least) and whether what it was after happened. Routes the
// tier leaves open are asserted open, so that a change is noticed. With
// SIGGUARD_COVERAGE_TABLE set, it writes the coverage table there
// (scripts/coverage-table.sh puts it in the README). It also logs the
// table, line by line, for the kernel matrix, which runs it in the lsm
// tier in a guest and compares it with the README's second table.
func TestBypassSuite(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	tier := bypassTier(t)
	// One guard for the 32-bit hooks and one without, each scoped to a
	// cgroup of its own and shared by the routes: events are told apart
	// by the caller's pid.
	guards := map[bool]*scopedGuard{}
	guardFor := func(compat bool) *scopedGuard {
		if guards[compat] == nil {
			cg := testenv.NewCgroup(t)
			r := startGuard(t, cg, guard.Rule{Syscalls: guard.Presets["memory-access"], Action: guard.ActionSignalProcess,
				Signal: syscall.SIGKILL}, guard.Config{Tier: tier, Compat: compat}, 0)
			guards[compat] = &scopedGuard{cg, r}
		}
		return guards[compat]
	}
	uringHooked := slices.Contains(guardFor(false).r.g.Hooked(), guard.SyscallIoUring)
	t.Logf("io_uring hooks attached: %v", uringHooked)
	rows := []string{}
	for _, b := range bypasses {
		t.Run(b.route, func(t *testing.T) {
			b.open, b.race = b.inTier(tier, uringHooked, guardFor(false).r.g.SharersReached())
			b.notes = b.notesIn(tier)
			out := runBypass(t, offender, guardFor(b.compat), b)
			checkBypass(t, tier, b, out)
			rows = append(rows, coverageRow(b, out))
		})
	}
	// What the table declares open, sigguard says at start.
	routes := strings.Join(guardFor(false).r.g.OpenRoutes(), "\n")
	disabled, _ := os.ReadFile("/proc/sys/kernel/io_uring_disabled")
	want := (tier == guard.TierSignal || !nativeUringWorkers(t)) && strings.TrimSpace(string(disabled)) != "2"
	if said := strings.Contains(routes, "io_uring opens"); said != want {
		t.Errorf("tier %s: the open io_uring routes are said at start: %v, want %v:\n%s", tier, said, want, routes)
	}
	if !t.Failed() {
		table := coverageTable(tier, rows)
		writeCoverageTable(t, table)
		logCoverageTable(t, table)
	}
}

// bypassTier is the best tier the kernel offers, or the one
// SIGGUARD_BYPASS_TIER names: the signal tier runs on every kernel, so a
// kernel with a deny tier can run the suite in both.
func bypassTier(t *testing.T) guard.Tier {
	if v := os.Getenv("SIGGUARD_BYPASS_TIER"); v != "" {
		tier, err := guard.ParseTier(v)
		if err != nil {
			t.Fatalf("SIGGUARD_BYPASS_TIER: %v", err)
		}
		return tier
	}
	tier, passedOver := autoTier(t)
	t.Logf("tier %s (passed over: %q)", tier, passedOver)
	if want := expectedTier(t); want != guard.TierAuto && tier != want {
		t.Fatalf("tier %s, want %s on this kernel", tier, want)
	}
	return tier
}

type scopedGuard struct {
	cg *testenv.Cgroup
	r  *running
}

func runBypass(t *testing.T, offender string, g *scopedGuard, b bypass) outcome {
	cg, r := g.cg, g.r
	v := startSecretVictimAs(t, cg, offender, cmp.Or(b.victim, "victim"))
	dir := t.TempDir()
	lootPath := filepath.Join(dir, "loot")
	cmd := cg.Command(offender, "attack", b.mode, strconv.Itoa(v.cmd.Process.Pid))
	cmd.Env = append(os.Environ(), "OFFENDER_LOOT="+lootPath)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// An attack that hangs ends by SIGTERM, which no caught one dies of.
	hung := time.AfterFunc(time.Minute, func() { cmd.Process.Signal(syscall.SIGTERM) })
	err := cmd.Wait()
	hung.Stop()
	var out outcome
	caller := cmd.Process.Pid
	switch b.caller {
	case callerProcess:
		out.killed = killedBySIGKILL(err)
		if !out.killed && err != nil {
			t.Fatalf("offender: %v (%s)", err, strings.TrimSpace(stdout.String()+stderr.String()))
		}
		// The offender says unsupported only where the kernel lacks io_uring,
		// forbids it, or lacks a feature the route needs; any other failure
		// to set an attack up ended it above.
		if why, ok := strings.CutPrefix(stdout.String(), "unsupported: "); ok {
			t.Skipf("this kernel cannot make the attack: %s", why)
		}
		out.returned, out.errno = parseErrno(stdout.String())
	case callerHelper:
		if err != nil {
			t.Fatalf("the helper's parent must live on, yet: %v", err)
		}
		caller, out.killed, out.returned, out.errno = parseHelper(t, stdout.Bytes())
	}
	if out.killed || b.open == "" {
		out.events = r.eventsOf(caller, 1)
	} else {
		out.events = r.eventsOf(caller, 0)
	}
	out.landed = effectLanded(t, b.effect, v, lootPath)
	if len(out.events) > 0 {
		out.hook = hookOf(&out.events[0])
	}
	return out
}

// parseErrno reads the offender's "errno=N", printed only if the call returned.
func parseErrno(stdout string) (returned bool, errno int) {
	for _, line := range strings.Split(stdout, "\n") {
		if v, ok := strings.CutPrefix(line, "errno="); ok {
			n, _ := strconv.Atoi(v)
			return true, n
		}
	}
	return false, 0
}

// parseHelper reads how a helper child ended: killed, or exited with its
// call's errno (the child exits right after the call returns).
func parseHelper(t *testing.T, stdout []byte) (pid int, killed, returned bool, errno int) {
	var h struct{ Helper, Signal, Errno int }
	if err := json.Unmarshal(stdout, &h); err != nil {
		t.Fatalf("helper report %q: %v", stdout, err)
	}
	killed = h.Signal == int(syscall.SIGKILL)
	return h.Helper, killed, h.Signal == 0, h.Errno
}

// effectLanded looks in the victim for what the attack was after. Any
// attack that leaves the victim traced or stopped has had an effect.
func effectLanded(t *testing.T, e effect, v *secretVictim, lootPath string) bool {
	t.Helper()
	landed := false
	if !victimReleased(t, v.cmd.Process.Pid) {
		landed = true
		// Resumed, so that it can answer below.
		syscall.Kill(v.cmd.Process.Pid, syscall.SIGCONT)
	}
	switch e {
	case effectMarker:
		return v.report() != "intact" || landed
	case effectLoot:
		got, err := os.ReadFile(lootPath)
		return err == nil && bytes.Equal(got, v.secret) || landed
	}
	return landed
}

// victimReleased waits (up to 3 s, for the clean-up after a kill) until
// the victim is traced by no one and not stopped.
func victimReleased(t *testing.T, pid int) bool {
	deadline := time.Now().Add(3 * time.Second)
	for {
		tracer, state := tracerAndState(t, pid)
		if tracer == 0 && !isStopped(state) {
			return true
		}
		if time.Now().After(deadline) {
			t.Logf("victim: TracerPid %d, State %s", tracer, state)
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// isStopped reads /proc/<pid>/status's State: stopped, or stopped by a tracer.
func isStopped(state string) bool {
	return strings.HasPrefix(state, "T") || strings.HasPrefix(state, "t")
}

// tracerAndState reads TracerPid and State from /proc/<pid>/status.
func tracerAndState(t *testing.T, pid int) (tracer int, state string) {
	t.Helper()
	state, tracer, err := testenv.ProcStatus(pid)
	if err != nil {
		t.Fatal(err)
	}
	return tracer, state
}

// checkBypass asserts what the tier promises for the route.
func checkBypass(t *testing.T, tier guard.Tier, b bypass, out outcome) {
	t.Helper()
	if b.open != "" {
		// Declared open: it must go through unseen, as measured when it
		// was declared. If this fails, the route may be caught now:
		// update the table's declaration.
		if out.killed || !out.returned || out.errno != 0 || len(out.events) != 0 {
			t.Errorf("declared open (%s), yet: killed %v, returned %v, errno %d, %d events", b.open, out.killed, out.returned, out.errno, len(out.events))
		}
		if b.effect != effectNone && !out.landed {
			t.Errorf("declared open, yet its effect did not land")
		}
		return
	}
	if !out.killed || out.returned {
		t.Errorf("want the caller killed before its call returns: killed %v, returned %v (errno %d)", out.killed, out.returned, out.errno)
	}
	if out.landed && b.race == "" {
		t.Errorf("the attack's effect landed")
	}
	if len(out.events) == 0 {
		t.Fatalf("no event")
	}
	// A deny tier judges 32-bit calls without compat: true, and refuses
	// every call at the ptrace access check but those that never reach it
	// (atEntry), which are left to the syscall hooks, as in the signal
	// tier. So the table's hook column is one per row in every tier.
	compat := strings.HasPrefix(b.mode, "compat-")
	judgedIn := tier
	if b.atEntry {
		judgedIn = guard.TierSignal
	}
	for _, ev := range out.events {
		checkThread(t, tier, b, &ev)
		if ev.Syscall != b.want || ev.Compat != compat || !ev.Success() || ev.Tier != judgedIn ||
			ev.Denied != (judgedIn != guard.TierSignal) {
			t.Errorf("want %s events (compat %v) judged in tier %s (denied %v), got %+v", b.want, compat, judgedIn,
				judgedIn != guard.TierSignal, ev)
		}
	}
}

// hookOf names the hook that judged an event.
func hookOf(ev *guard.Event) string {
	switch {
	case ev.Tier == guard.TierLSM:
		return "lsm/ptrace_access_check"
	case ev.Tier == guard.TierFmodRet:
		return "fmod_ret/security_ptrace_access_check"
	case ev.Compat && ev.Syscall == guard.SyscallOpen:
		return "tp_btf/sys_exit"
	case ev.Compat:
		return "tp_btf/sys_enter"
	case ev.Syscall == guard.SyscallIoUring && (ev.Request == 18 || ev.Request == 28):
		return "tp_btf/io_uring_complete"
	case ev.Syscall == guard.SyscallIoUring:
		return "tp_btf/io_uring_file_get"
	}
	return "tp/syscalls/" + ev.Syscall.Tracepoint()
}

func coverageRow(b bypass, out outcome) string {
	caught := "**open**"
	if out.killed && len(out.events) > 0 {
		caught = "yes"
		if b.caller == callerHelper {
			caught = "yes (the helper)"
		}
	}
	prevented := "n/a"
	switch {
	case b.race != "":
		// Measured either way from run to run: the table must not flicker.
		prevented = "**not guaranteed**"
	case b.effect != effectNone && out.landed:
		prevented = "**no**"
	case b.effect != effectNone:
		prevented = "yes"
	}
	hook := out.hook
	if hook == "" {
		hook = "none"
	}
	notes := strings.Join(nonEmpty(b.open, b.notes, b.race), "; ")
	return fmt.Sprintf("| %s | %s | %s | %s | %s |", b.route, "`"+hook+"`", caught, prevented, notes)
}

// coverageTable is the coverage table the README shows for tier, rows
// and what they mean.
func coverageTable(tier guard.Tier, rows []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Produced by `TestBypassSuite` in the %s tier (a kill rule over `memory-access`). "+
		"Caught: the caller died of SIGKILL before its call returned, with an event. Effect prevented: "+
		"the victim's marker word was not overwritten, its secret not read, it is not left traced or stopped.", tier)
	if tier != guard.TierSignal {
		fmt.Fprintf(&b, " Where the hook is `%s`, the call was refused at the kernel's ptrace access check "+
			"before it took effect, and the rule's SIGKILL sent there; the other hooks are the signal tier's, at "+
			"syscall entry.", hookOf(&guard.Event{Tier: tier}))
	}
	b.WriteString("\n\n| route | hook | caught | effect prevented | notes |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		b.WriteString(r + "\n")
	}
	return b.String()
}

// writeCoverageTable writes the table where SIGGUARD_COVERAGE_TABLE says.
func writeCoverageTable(t *testing.T, table string) {
	path := os.Getenv("SIGGUARD_COVERAGE_TABLE")
	if path == "" {
		return
	}
	if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
		t.Fatalf("write coverage table: %v", err)
	}
}

// logCoverageTable logs the table a line at a time, each after
// plan.CoveragePrefix and a space: the kernel matrix reads it from a
// guest's console (go test -v) and compares it with README.md.
func logCoverageTable(t *testing.T, table string) {
	for _, line := range strings.Split(strings.TrimSuffix(table, "\n"), "\n") {
		t.Log(plan.CoveragePrefix + " " + line)
	}
}

// secretVictim is `offender victim`: it holds a marker word an attack may
// overwrite, and a random secret one may read.
type secretVictim struct {
	cmd    *exec.Cmd
	report func() string // asks whether the marker is intact; the victim then exits
	secret []byte
}

func startSecretVictim(t *testing.T, cg *testenv.Cgroup, offender string) *secretVictim {
	t.Helper()
	return startSecretVictimAs(t, cg, offender, "victim")
}

// startSecretVictimAs starts the victim as an offender mode of that kind
// (victim-shared also holds a marker in memory it shares with a file).
func startSecretVictimAs(t *testing.T, cg *testenv.Cgroup, offender, mode string) *secretVictim {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	v := &secretVictim{cmd: cg.Command(offender, mode)}
	v.cmd.Env = append(os.Environ(), "OFFENDER_SECRET="+path)
	stdout, err := v.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.cmd.Process.Kill(); v.cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("victim did not get ready: %q", lines.Text())
	}
	if v.secret, err = os.ReadFile(path); err != nil || len(v.secret) != 8 {
		t.Fatalf("victim's secret: %v", err)
	}
	v.report = func() string {
		if err := v.cmd.Process.Signal(syscall.SIGUSR2); err != nil {
			t.Fatal(err)
		}
		lines.Scan()
		return lines.Text()
	}
	return v
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// checkThread checks the signal tier's io_uring hook ran where the route
// says, and named the process, not the io_uring thread.
func checkThread(t *testing.T, tier guard.Tier, b bypass, ev *guard.Event) {
	t.Helper()
	if tier != guard.TierSignal || b.want != guard.SyscallIoUring {
		return
	}
	if ev.Comm.String() != "offender" {
		t.Errorf("event names %q, want the process's name", ev.Comm.String())
	}
	switch {
	case b.from == fromSubmitter && ev.TID != ev.PID:
		t.Errorf("want the hook to run in the submitting thread %d, it ran in %d", ev.PID, ev.TID)
	case b.from == fromIoThread && ev.TID == ev.PID:
		t.Errorf("want the hook to run in an io_uring thread, it ran in the submitting thread %d", ev.TID)
	}
}

// nativeUringWorkers asks the kernel whether io_uring's workers are
// threads of the ring owner's process (Linux 5.12).
func nativeUringWorkers(t *testing.T) bool {
	ring, err := uring.New(1, 0)
	if uring.Unavailable(err) {
		t.Logf("no io_uring: %v", err)
		return true
	}
	if err != nil {
		t.Fatalf("io_uring: %v", err)
	}
	defer ring.Close()
	return ring.Features()&uring.FeatNativeWorkers != 0
}
