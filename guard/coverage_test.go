package guard_test

import (
	"os"
	"strconv"
	"syscall"
	"testing"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/testenv"
)

// routes are the ways to another process's memory the offender knows, with
// the syscall the guard must report for each.
var routes = []struct {
	mode    string
	syscall guard.Syscall
}{
	{"attach", guard.SyscallPtrace},
	{"vm-readv", guard.SyscallProcessVMReadv},
	{"vm-writev", guard.SyscallProcessVMWritev},
	{"pidfd-getfd", guard.SyscallPidfdGetfd},
	{"perf-open", guard.SyscallPerfEventOpen},
	{"mem-open", guard.SyscallOpen},
	{"mem-openat", guard.SyscallOpenat},
	{"mem-openat2", guard.SyscallOpenat2},
	{"mem-creat", guard.SyscallCreat},
	{"attach-hibits", guard.SyscallPtrace},
	// No path says /proc/<pid>/mem: the opened file does.
	{"mem-dirfd", guard.SyscallOpenat},
	{"mem-symlink", guard.SyscallOpenat},
}

func TestEveryMemoryRouteIsGuarded(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	for _, route := range routes {
		t.Run(route.mode, func(t *testing.T) {
			cg := testenv.NewCgroup(t)
			r := startGuard(t, cg, guard.Rule{
				Syscalls: guard.Presets["memory-access"], Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL,
			}, guard.Config{}, 0)
			victim := cg.Start(t, "sleep", "60")
			count := testenv.NewCounter(t)
			cmd := cg.Command(offender, route.mode, strconv.Itoa(victim.Process.Pid))
			cmd.Env = append(os.Environ(), count.Env())
			assertKilled(t, cmd.Run(), route.mode)
			if n := count.Value(t); n != 0 {
				t.Errorf("%d calls returned to the offender, want 0", n)
			}
			evs := r.eventsOf(cmd.Process.Pid, 1)
			if len(evs) != 1 || evs[0].Syscall != route.syscall || evs[0].Target != int64(victim.Process.Pid) ||
				!evs[0].Success() || evs[0].Compat {
				t.Errorf("want one %s event naming pid %d, got %+v", route.syscall, victim.Process.Pid, evs)
			}
		})
	}
}

// A rule guards only its syscalls; and reaching into one's own memory is
// not reaching into another process's.
func TestUnguardedRoutesAndOwnMemoryPass(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	for _, tc := range []struct {
		name     string
		syscalls []guard.Syscall
		mode     string
	}{
		{"vm-readv under a ptrace rule", []guard.Syscall{guard.SyscallPtrace}, "vm-readv"},
		{"/proc/pid/mem under a ptrace rule", []guard.Syscall{guard.SyscallPtrace}, "mem-openat"},
		{"ptrace under a proc-mem rule", guard.Presets["proc-mem"], "attach"},
		{"own /proc/self/mem", guard.Presets["memory-access"], "mem-self"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cg := testenv.NewCgroup(t)
			r := startGuard(t, cg, guard.Rule{Syscalls: tc.syscalls, Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL}, guard.Config{}, 0)
			victim := cg.Start(t, "sleep", "60")
			cmd := cg.Command(offender, tc.mode, strconv.Itoa(victim.Process.Pid))
			cmd.Env = append(os.Environ(), "OFFENDER_CALLS=5")
			if err := cmd.Run(); err != nil {
				t.Fatalf("offender stopped: %v", err)
			}
			if evs := r.eventsOf(cmd.Process.Pid, 0); len(evs) != 0 {
				t.Errorf("unexpected events: %+v", evs)
			}
		})
	}
}

// 32-bit calls through int $0x80 fire no syscall tracepoint: open unless
// the policy asks for compat, caught when it does.
func TestCompatRoutes(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	for _, tc := range []struct {
		mode    string
		syscall guard.Syscall
	}{
		{"compat-attach", guard.SyscallPtrace},
		{"compat-mem-open", guard.SyscallOpen},
	} {
		for _, compat := range []bool{false, true} {
			t.Run(tc.mode+"/compat="+strconv.FormatBool(compat), func(t *testing.T) {
				cg := testenv.NewCgroup(t)
				rule := killRule
				rule.Syscalls = guard.Presets["memory-access"]
				r := startGuard(t, cg, rule, guard.Config{Compat: compat}, 0)
				if r.g.Compat() != compat {
					t.Fatalf("guard reports compat %v", r.g.Compat())
				}
				victim := cg.Start(t, "sleep", "60")
				cmd := cg.Command(offender, tc.mode, strconv.Itoa(victim.Process.Pid))
				cmd.Env = append(os.Environ(), "OFFENDER_CALLS=1")
				err := cmd.Run()
				if !compat {
					if err != nil {
						t.Fatalf("without compat the 32-bit call is declared open, yet: %v", err)
					}
					return
				}
				assertKilled(t, err, "32-bit caller")
				evs := r.eventsOf(cmd.Process.Pid, 1)
				if len(evs) != 1 || !evs[0].Compat || evs[0].Syscall != tc.syscall || evs[0].Target != int64(victim.Process.Pid) {
					t.Errorf("want one 32-bit %s event naming %d, got %+v", tc.syscall, victim.Process.Pid, evs)
				}
			})
		}
	}
}

// Every route the guard knows is attacked somewhere: by a mode above, and
// by a row of the bypass suite, which writes the README's coverage table.
// A route added to the route table without its attacks fails here.
func TestEveryRouteIsAttacked(t *testing.T) {
	for _, s := range guard.Presets["memory-access"] {
		inRoutes, inBypasses := false, false
		for _, r := range routes {
			inRoutes = inRoutes || r.syscall == s
		}
		for _, b := range bypasses {
			inBypasses = inBypasses || b.want == s
		}
		// io_uring has no syscall of its own to call plainly: the bypass suite's rows attack it.
		if (!inRoutes && s != guard.SyscallIoUring) || !inBypasses {
			t.Errorf("route %s: attacked by a mode of TestEveryMemoryRouteIsGuarded %v, by a bypass row %v", s, inRoutes, inBypasses)
		}
	}
}
