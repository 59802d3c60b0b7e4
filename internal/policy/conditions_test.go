package policy

import (
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/testenv"
)

// The shape of rules for any syscall: argument conditions, result
// conditions, a thread scope with a rate limit, an errno to refuse with.
// Reading the kernel's syscall tracepoints needs root.
func TestParseGenericRules(t *testing.T) {
	testenv.RequireRoot(t)
	cfg, err := Parse("p.yaml", []byte(`
rules:
  - name: no-user-namespaces
    syscalls: [unshare]
    args:
      flags: { any_bits: [CLONE_NEWUSER] }
    action: { signal: KILL }
  - name: stack-on-slow-sleep
    syscalls: [nanosleep, clock_nanosleep]
    when: { slower_than: 30ms }
    action: { signal: USR2, scope: thread, at_most: 1/s }
  - name: stop-on-eacces
    syscalls: [openat]
    when: { fails_with: [EACCES, EPERM], returns: { range: [-4095, -1] } }
    action: { signal: STOP, at_most: "10/100ms per cgroup" }
  - name: no-modules
    syscalls: [kernel-modules]
    args: { flags: { equals: [0, MODULE_INIT_IGNORE_MODVERSIONS] } }
    action: { deny: EACCES }
`))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Rules
	if len(r) != 4 {
		t.Fatalf("%d rules", len(r))
	}
	if want := []guard.ArgCondition{{Arg: "flags", Condition: guard.Condition{Op: guard.CondAnyBits, Values: []uint64{unix.CLONE_NEWUSER}}}}; !reflect.DeepEqual(r[0].Args, want) || r[0].Signal != syscall.SIGKILL {
		t.Errorf("rule 1: %+v", r[0])
	}
	if r[1].When.SlowerThan != 30*time.Millisecond || r[1].Action != guard.ActionSignalThread || r[1].Signal != syscall.SIGUSR2 ||
		*r[1].AtMost != (guard.RateLimit{Count: 1, Per: time.Second, Scope: guard.RateProcess}) || len(r[1].Syscalls) != 2 {
		t.Errorf("rule 2: %+v", r[1])
	}
	if !reflect.DeepEqual(r[2].When.FailsWith, []syscall.Errno{syscall.EACCES, syscall.EPERM}) || r[2].When.Returns == nil ||
		r[2].When.Returns.Op != guard.CondRange || *r[2].AtMost != (guard.RateLimit{Count: 10, Per: 100 * time.Millisecond, Scope: guard.RateCgroup}) {
		t.Errorf("rule 3: %+v", r[2])
	}
	if r[3].Action != guard.ActionDeny || r[3].DenyErrno != syscall.EACCES || len(r[3].Syscalls) != 3 {
		t.Errorf("rule 4: %+v", r[3])
	}
}

// Each mistake is named at its line and column, with the fix.
func TestGenericRuleErrors(t *testing.T) {
	testenv.RequireRoot(t)
	for _, c := range []struct{ policy, want string }{
		{"rules:\n  - syscalls: [openat]\n", `p.yaml:2:15: rule rule-1: syscalls: openat means every openat call on the machine; opens of another process's /proc/<pid>/mem are the route proc-mem`},
		{"rules:\n  - syscalls: [unshar]\n", `p.yaml:2:16: unknown syscall or preset "unshar" (did you mean unshare`},
		{"rules:\n  - syscalls: [unshare]\n    args: { flag: { any_bits: [1] } }\n", `p.yaml:3:11: rule rule-1: args: unshare has no argument "flag"`},
		{"rules:\n  - syscalls: [openat]\n    args: { filename: { equals: [0] } }\n", `p.yaml:3:11: rule rule-1: args: filename of openat is a pointer`},
		{"rules:\n  - syscalls: [unshare]\n    args: { flags: { some_bits: [1] } }\n", `p.yaml:3:22: unknown condition "some_bits"`},
		{"rules:\n  - syscalls: [getpriority]\n    args: { which: { range: [5, 1] } }\n", `p.yaml:3:11: rule rule-1: args: which: range [5, 1] is empty`},
		{"rules:\n  - syscalls: [read]\n    when: { slower_than: 10ms }\n    action: { deny: true }\n", `p.yaml:4:13: rule rule-1: action: deny refuses a call at its entry`},
		{"rules:\n  - syscalls: [read]\n    when: { slower_than: 10 }\n", `p.yaml:3:26: slower_than:`},
		{"rules:\n  - syscalls: [read]\n    when: { fails_with: [EWHAT] }\n", `p.yaml:3:26: fails_with:`},
		{"rules:\n  - syscalls: [read]\n    when: { slower_than: 1s }\n    action: { at_most: 1/s per pod }\n", `p.yaml:4:24: at_most: unknown rate scope "pod"`},
		{"rules:\n  - syscalls: [read]\n    when: { slower_than: 1s }\n    action: { at_most: often }\n", `p.yaml:4:24: at_most:`},
		{"rules:\n  - syscalls: [unshare]\n    action: { deny: true, at_most: 1/s }\n", `p.yaml:3:13: rule rule-1: action: a veto is never rate-limited`},
		{"rules:\n  - syscalls: [ptrace, unshare]\n    match: { target: { pid: [1] } }\n", `rule rule-1: target pid: target keys apply to the routes`},
		{"rules:\n  - syscalls: [getpriority]\n    args: { which: { range: [-2, 5] } }\n    action: { audit: true }\n", ""},
		{"rules:\n  - syscalls: [proc-mem]\n    when: { fails_with: [EACCES] }\n", `rule rule-1: syscalls: proc-mem-open is no single syscall`},
	} {
		_, err := Parse("p.yaml", []byte(c.policy))
		if c.want == "" {
			if err != nil {
				t.Errorf("policy\n%s\nerror  %v, want none", c.policy, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("policy\n%s\nerror  %v\nwant   %s...", c.policy, err, c.want)
		}
	}
}
