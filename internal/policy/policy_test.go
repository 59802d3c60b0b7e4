package policy

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sigguard/sigguard/guard"
)

func TestParseAFullPolicy(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src := `
compat: true
rules:
  - name: allow-root-gdb
    syscalls: [memory-access]
    match:
      uid: [root]
      exe: [` + self + `]
    action: { audit: true }
  - name: no-debuggers
    syscalls: [ptrace, ptrace]
    match:
      comm: [strace, gdb]
      request: [PTRACE_ATTACH, seize, 5]
      ppid: 1
      target: { pid: [4242] }
    except:
      uid: [1000]
      ancestor: [1]
    action: { signal: USR1, scope: thread }
  - match: { cgroup: [/], target: { cgroup: [/] } }
    except: { target: { exe: [` + self + `], pid: 7 } }
`
	cfg, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := guard.Config{Compat: true, Rules: []guard.Rule{
		{Name: "allow-root-gdb", Syscalls: guard.Presets["memory-access"], Action: guard.ActionAudit, Signal: 9,
			Match: guard.Matchers{UID: []uint32{0}, Exe: []string{self}}},
		{Name: "no-debuggers", Syscalls: []guard.Syscall{guard.SyscallPtrace},
			Action: guard.ActionSignalThread, Signal: 10,
			Match:  guard.Matchers{Comm: []string{"strace", "gdb"}, Request: []int64{16, 0x4206, 5}, PPID: []int{1}, TargetPID: []int{4242}},
			Except: guard.Matchers{UID: []uint32{1000}, Ancestor: []int{1}}},
		{Name: "rule-3", Action: guard.ActionSignalProcess, Signal: 9,
			Match:  guard.Matchers{Cgroup: []string{"/"}, TargetCgroup: []string{"/"}},
			Except: guard.Matchers{TargetExe: []string{self}, TargetPID: []int{7}}},
	}}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("parsed\n%+v\nwant\n%+v", cfg, want)
	}
}

// Every bad policy names its file, line and column, and how to fix it.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want string
	}{
		{"", "p.yaml:1:1: the policy is empty"},
		{"rules: [\n", "p.yaml:1:1: not valid YAML"},
		{"rulez: []\n", `p.yaml:1:1: unknown key "rulez" at the top`},
		{"compat: maybe\nrules: [{}]\n", "p.yaml:1:9: compat takes true or false"},
		{"compat: true\n", "p.yaml:1:1: no rules: list"},
		{"rules: []\n", "p.yaml:1:8: rules: must be a list of at least one rule"},
		{"rules:\n  - nam: x\n", `p.yaml:2:5: unknown key "nam" in a rule (use name, syscalls, match, except, args, when, action)`},
		{"rules:\n  - syscalls: [ptrace, pokemon]\n", `p.yaml:2:24: unknown syscall or preset "pokemon": no syscall of the x86-64 table has that name, and the presets are `},
		{"rules:\n  - action: { signal: 65 }\n", "p.yaml:2:23: signal: signal 65 is out of range"},
		{"rules:\n  - action: { signal: FOO }\n", `p.yaml:2:23: signal: unknown signal "FOO"`},
		{"rules:\n  - action: { scope: galaxy }\n", `p.yaml:2:22: scope "galaxy" is neither process nor thread`},
		{"rules:\n  - action: { audit: true, scope: thread }\n", "p.yaml:2:13: audit: true signals nothing, so scope does not apply"},
		{"rules:\n  - match: { exe: [/no/such/exe] }\n", "p.yaml:2:19: rule rule-1: exe: /no/such/exe: no such file or directory (name an existing executable)"},
		{"rules:\n  - match:\n      cgroup: [../outside]\n", "p.yaml:3:15: rule rule-1: cgroup: ../outside is outside the cgroup v2 hierarchy"},
		{"rules:\n  - match: { ppid: [1073741824] }\n", "p.yaml:2:20: rule rule-1: ppid: no process 1073741824"},
		{"rules:\n  - match: { ppid: [-3] }\n", `p.yaml:2:21: "-3" is not a process id`},
		{"rules:\n  - match: { uid: [nosuchuserhere] }\n", `p.yaml:2:20: uid "nosuchuserhere" is neither a number nor a known user`},
		{"rules:\n  - match: { comm: [averyveryverylongname] }\n", "p.yaml:2:20: rule rule-1: comm: \"averyveryverylongname\" is not a command name"},
		{"rules:\n  - match: { request: [FROB] }\n", `p.yaml:2:24: unknown ptrace request "FROB"`},
		{"rules:\n  - syscalls: [memory-access]\n    match: { request: [ATTACH] }\n", "p.yaml:3:23: rule rule-1: request: ptrace requests only apply to a rule that guards ptrace alone"},
		{"rules:\n  - match: { target: { uid: [0] } }\n", `p.yaml:2:24: unknown key "uid" under target (use pid, exe, cgroup)`},
		{"rules:\n  - match: { target: { exe: [/no/such] } }\n", `p.yaml:2:29: rule rule-1: target exe: /no/such: no such file`},
		{"rules:\n  - match: { colour: [red] }\n", `p.yaml:2:14: unknown key "colour" under match (use uid, comm, exe, ppid, ancestor, cgroup, request, target)`},
		{"rules:\n  - except: { target.pid: [1] }\n", `p.yaml:2:15: unknown key "target.pid" under except (use uid, comm, exe, ppid, ancestor, cgroup, request, target)`},
		{"rules:\n  - except: { target: 5 }\n", "p.yaml:2:23: target must be a mapping of keys to values"},
		{"rules:\n  - match: { target: { pid: [0] } }\n", `p.yaml:2:30: "0" is not a process id (use a positive number)`},
		{"rules:\n  - match: { target: { pid: 1, pid: 2 } }\n", `p.yaml:2:32: key "pid" appears twice in target`},
		{"rules:\n  - match: { target: { cgroup: [] } }\n", "p.yaml:2:32: cgroup (under target) is an empty list"},
		{"rules:\n  - match:\n      target: { cgroup: [../outside] }\n", "p.yaml:3:25: rule rule-1: target cgroup: ../outside is outside the cgroup v2 hierarchy"},
		{"rules:\n  - match: { uid: [] }\n", "p.yaml:2:19: uid (under match) is an empty list"},
		{"rules:\n  - match: { uid: [[1]] }\n", "p.yaml:2:20: uid (under match) takes plain values"},
		{"rules:\n  - name: a\n  - name: a\n", `p.yaml:3:11: rule name "a" is used twice (first on line 2; names must be unique)`},
		{"rules:\n  - name: a\n    name: b\n", `p.yaml:3:5: key "name" appears twice in rule 1`},
		{"rules:\n  - match: { uid: [" + strings.Repeat("1, ", 300) + "1] }\n", "p.yaml:2:19: rule rule-1: uid: 301 values, at most 256 per list"},
	} {
		_, err := Parse("p.yaml", []byte(tc.src))
		var pe *Error
		if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("policy\n%s\nerror  %v\nwant   %s...", tc.src, err, tc.want)
		}
	}
}

func TestTooManyRules(t *testing.T) {
	src := "rules:\n" + strings.Repeat("  - {}\n", guard.MaxRules+1)
	_, err := Parse("p.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "at most 64") {
		t.Errorf("65 rules: %v", err)
	}
}

func TestLoadNamesAMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.yaml")
	_, err := Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+":1:1: cannot read the policy") {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("rules:\n  - name: x\n    match: { uid: [0] }\n"))
	f.Add([]byte("compat: true\nrules: [{action: {audit: true}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yaml", data)
		if err == nil && len(cfg.Rules) == 0 {
			t.Error("a policy without rules was accepted")
		}
		var pe *Error
		if err != nil && !errors.As(err, &pe) {
			t.Errorf("error without a position: %v", err)
		}
	})
}
