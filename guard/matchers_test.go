package guard_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/testenv"
)

// setting is what a matcher case starts: the offender binary under some
// name, user, parent or cgroup, doing some ptrace call.
type setting struct {
	t        *testing.T
	cg       *testenv.Cgroup
	offender string
	victim   int
	other    int    // a second victim
	vault    string // a child cgroup holding one more victim
	inVault  int
}

type start func(s *setting) *exec.Cmd

func plain(mode string) start {
	return func(s *setting) *exec.Cmd { return s.cg.Command(s.offender, mode, strconv.Itoa(s.victim)) }
}

func asUser(uid uint32) start {
	return func(s *setting) *exec.Cmd {
		cmd := s.cg.Command(s.offender, "fail")
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uid, Gid: uid}
		return cmd
	}
}

// linked runs the offender's own inode under another name (a hard link):
// a new comm, the same executable.
func linked(name string) start {
	return func(s *setting) *exec.Cmd {
		path := filepath.Join(s.t.TempDir(), name)
		if err := os.Link(s.offender, path); err != nil {
			s.t.Fatal(err)
		}
		return s.cg.Command(path, "fail")
	}
}

// copied runs a copy: another inode, and a name of its own.
func copied(name string) start {
	return func(s *setting) *exec.Cmd {
		data, err := os.ReadFile(s.offender)
		if err != nil {
			s.t.Fatal(err)
		}
		path := filepath.Join(s.t.TempDir(), name)
		if err := os.WriteFile(path, data, 0o755); err != nil {
			s.t.Fatal(err)
		}
		return s.cg.Command(path, "fail")
	}
}

// grandchild runs the offender under a shell, so its parent is not us.
func grandchild(s *setting) *exec.Cmd {
	return s.cg.Command("/bin/sh", "-c", s.offender+" fail; exit $?")
}

func inChildCgroup(s *setting) *exec.Cmd {
	return s.cg.Child(s.t).Command(s.offender, "fail")
}

func attachOther(s *setting) *exec.Cmd {
	return s.cg.Command(s.offender, "attach", strconv.Itoa(s.other))
}

// attachFresh attaches to a sleep started after the guard: its identity
// comes from the fork and exec hooks, not from the fill at start.
func attachFresh(s *setting) *exec.Cmd {
	fresh := s.cg.Start(s.t, "sleep", "60").Process.Pid
	return s.cg.Command(s.offender, "attach", strconv.Itoa(fresh))
}

func attachVault(s *setting) *exec.Cmd {
	return s.cg.Command(s.offender, "attach", strconv.Itoa(s.inVault))
}

func sleepPath(t *testing.T) string {
	path, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	path, err = filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func kill(name string, match, except guard.Matchers) guard.Rule {
	return guard.Rule{Name: name, Match: match, Except: except, Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL}
}

func audit(name string) guard.Rule {
	return guard.Rule{Name: name, Action: guard.ActionAudit, Signal: syscall.SIGKILL}
}

func TestMatchers(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	me := os.Getpid()
	none := guard.Matchers{}
	for name, tc := range map[string]struct {
		rules  func(s *setting) []guard.Rule
		start  start
		killed bool
		rule   string // the rule the event must name
	}{
		"uid listed": {func(*setting) []guard.Rule {
			return []guard.Rule{kill("r", guard.Matchers{UID: []uint32{65534}}, none)}
		},
			asUser(65534), true, "r"},
		"uid not listed": {func(*setting) []guard.Rule {
			return []guard.Rule{kill("r", guard.Matchers{UID: []uint32{65534}}, none)}
		},
			plain("fail"), false, ""},
		"comm listed": {func(*setting) []guard.Rule {
			return []guard.Rule{kill("r", guard.Matchers{Comm: []string{"alias"}}, none)}
		},
			linked("alias"), true, "r"},
		"comm not listed": {func(*setting) []guard.Rule {
			return []guard.Rule{kill("r", guard.Matchers{Comm: []string{"alias"}}, none)}
		},
			plain("fail"), false, ""},
		"exe follows the inode, not the name": {func(s *setting) []guard.Rule {
			return []guard.Rule{kill("r", guard.Matchers{Exe: []string{s.offender}}, none)}
		}, linked("innocent-name"), true, "r"},
		"exe of another file": {func(s *setting) []guard.Rule {
			return []guard.Rule{kill("r", guard.Matchers{Exe: []string{s.offender}}, none)}
		}, copied("offender"), false, ""},
		"ppid is the direct parent": {func(*setting) []guard.Rule { return []guard.Rule{kill("r", guard.Matchers{PPID: []int{me}}, none)} },
			plain("fail"), true, "r"},
		"ppid is not a grandparent": {func(*setting) []guard.Rule { return []guard.Rule{kill("r", guard.Matchers{PPID: []int{me}}, none)} },
			grandchild, false, ""},
		"ancestor at any depth": {func(*setting) []guard.Rule { return []guard.Rule{kill("r", guard.Matchers{Ancestor: []int{me}}, none)} },
			grandchild, true, "r"},
		"ancestor not in the line": {func(s *setting) []guard.Rule {
			return []guard.Rule{kill("r", guard.Matchers{Ancestor: []int{s.victim}}, none)}
		}, grandchild, false, ""},
		"cgroup covers its subtree": {func(*setting) []guard.Rule { return []guard.Rule{kill("r", none, none)} },
			inChildCgroup, true, "r"},
		"request listed": {func(*setting) []guard.Rule {
			return []guard.Rule{kill("r", guard.Matchers{Request: []int64{syscall.PTRACE_ATTACH}}, none)}
		}, plain("attach"), true, "r"},
		"request not listed": {func(*setting) []guard.Rule {
			return []guard.Rule{kill("r", guard.Matchers{Request: []int64{syscall.PTRACE_ATTACH}}, none)}
		}, plain("peekdata"), false, ""},
		"target pid protected": {func(s *setting) []guard.Rule {
			return []guard.Rule{kill("r", guard.Matchers{TargetPID: []int{s.victim}}, none)}
		}, plain("attach"), true, "r"},
		"target pid with junk in the high bits": {func(s *setting) []guard.Rule {
			return []guard.Rule{kill("r", guard.Matchers{TargetPID: []int{s.victim}}, none)}
		}, plain("attach-hibits"), true, "r"},
		"target pid not protected": {func(s *setting) []guard.Rule {
			return []guard.Rule{kill("r", guard.Matchers{TargetPID: []int{s.victim}}, none)}
		}, attachOther, false, ""},
		"target exe protected (process older than the guard)": {func(s *setting) []guard.Rule {
			return []guard.Rule{kill("r", guard.Matchers{TargetExe: []string{sleepPath(s.t)}}, none)}
		}, plain("attach"), true, "r"},
		"target exe protected (process newer than the guard)": {func(s *setting) []guard.Rule {
			return []guard.Rule{kill("r", guard.Matchers{TargetExe: []string{sleepPath(s.t)}}, none)}
		}, attachFresh, true, "r"},
		"target exe of another program": {func(s *setting) []guard.Rule {
			return []guard.Rule{kill("r", guard.Matchers{TargetExe: []string{s.offender}}, none)}
		}, plain("attach"), false, ""},
		"target cgroup protected": {func(s *setting) []guard.Rule {
			return []guard.Rule{kill("r", guard.Matchers{TargetCgroup: []string{s.vault}}, none)}
		}, attachVault, true, "r"},
		"target outside the protected cgroup": {func(s *setting) []guard.Rule {
			return []guard.Rule{kill("r", guard.Matchers{TargetCgroup: []string{s.vault}}, none)}
		}, plain("attach"), false, ""},
		"target cgroup of a fresh process, by memory": {func(s *setting) []guard.Rule {
			return []guard.Rule{{Name: "r", Syscalls: guard.Presets["memory-access"], Action: guard.ActionSignalProcess,
				Signal: syscall.SIGKILL, Match: guard.Matchers{TargetCgroup: []string{s.cg.Path}}}}
		}, func(s *setting) *exec.Cmd {
			fresh := s.cg.Start(s.t, "sleep", "60").Process.Pid
			return s.cg.Command(s.offender, "vm-readv", strconv.Itoa(fresh))
		}, true, "r"},
		"target moved into the protected cgroup": {func(s *setting) []guard.Rule {
			return []guard.Rule{kill("r", guard.Matchers{TargetCgroup: []string{s.vault}}, none)}
		}, func(s *setting) *exec.Cmd {
			pid := s.cg.Start(s.t, "sleep", "60").Process.Pid
			if err := os.WriteFile(filepath.Join(s.vault, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
				s.t.Fatal(err)
			}
			return s.cg.Command(s.offender, "attach", strconv.Itoa(pid))
		}, true, "r"},
		"except a target exe": {func(s *setting) []guard.Rule {
			return []guard.Rule{kill("r", none, guard.Matchers{TargetExe: []string{sleepPath(s.t)}})}
		}, plain("attach"), false, ""},
		"except exempts": {func(*setting) []guard.Rule {
			return []guard.Rule{kill("r", none, guard.Matchers{Comm: []string{"offender"}})}
		},
			plain("fail"), false, ""},
		"except of someone else": {func(*setting) []guard.Rule {
			return []guard.Rule{kill("r", none, guard.Matchers{Comm: []string{"gdb"}})}
		},
			plain("fail"), true, "r"},
		"except by uid": {func(*setting) []guard.Rule { return []guard.Rule{kill("r", none, guard.Matchers{UID: []uint32{0}})} },
			plain("fail"), false, ""},
		"except by exe": {func(s *setting) []guard.Rule {
			return []guard.Rule{kill("r", none, guard.Matchers{Exe: []string{s.offender}})}
		}, linked("renamed"), false, ""},
		"first match wins: audit before kill": {func(*setting) []guard.Rule { return []guard.Rule{audit("first"), kill("second", none, none)} },
			plain("fail"), false, "first"},
		"first match wins: kill before audit": {func(*setting) []guard.Rule { return []guard.Rule{kill("first", none, none), audit("second")} },
			plain("fail"), true, "first"},
		"an exempted rule lets the next decide": {func(*setting) []guard.Rule {
			return []guard.Rule{kill("first", none, guard.Matchers{Comm: []string{"offender"}}), audit("second")}
		}, plain("fail"), false, "second"},
	} {
		t.Run(name, func(t *testing.T) {
			cg := testenv.NewCgroup(t)
			s := &setting{t: t, cg: cg, offender: offender}
			s.victim = cg.Start(t, "sleep", "60").Process.Pid
			s.other = cg.Start(t, "sleep", "60").Process.Pid
			vault := cg.Child(t)
			s.vault = vault.Path
			s.inVault = vault.Start(t, "sleep", "60").Process.Pid
			rules := tc.rules(s)
			for i := range rules {
				// Scope every rule to this test's cgroup, whatever it tests.
				rules[i].Match.Cgroup = append(rules[i].Match.Cgroup, cg.Path)
			}
			r := startGuardWith(t, guard.Config{Rules: rules}, 0)
			cmd := tc.start(s)
			cmd.Env = append(os.Environ(), "OFFENDER_CALLS=3")
			err := cmd.Run()
			var ee *exec.ExitError
			// A shell reports its child's SIGKILL as exit status 128+9.
			if tc.killed && !(errors.As(err, &ee) && ee.ExitCode() == 137) {
				assertKilled(t, err, "offender")
			} else if !tc.killed && err != nil {
				t.Fatalf("offender should have survived: %v", err)
			}
			want := 0
			if tc.rule != "" {
				want = 1
			}
			// The offender, or the shell's child for grandchildren.
			pid := cmd.Process.Pid
			evs := r.eventsWhere(want, func(ev *guard.Event) bool { return ev.PID == pid || ev.PPID == pid })
			if tc.rule == "" {
				if len(evs) != 0 {
					t.Errorf("no rule should match, got %+v", evs)
				}
				return
			}
			if len(evs) == 0 || evs[0].Rule != tc.rule {
				t.Errorf("want events of rule %q, got %+v", tc.rule, evs)
			}
			stats, err := r.g.RuleStats()
			if err != nil {
				t.Fatal(err)
			}
			for _, rs := range stats {
				if rs.Rule == tc.rule && rs.Matched != uint64(len(evs)) {
					t.Errorf("rule %s counted %d matches, %d events arrived", rs.Rule, rs.Matched, len(evs))
				}
			}
		})
	}
}

// A full table: 64 rules, each with lists of every kind; only the last one
// fits the offender. Cost must not depend on how many rules there are, and
// the verifier must take the program whatever the policy.
func TestSixtyFourRules(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	cg := testenv.NewCgroup(t)
	var rules []guard.Rule
	for i := 0; i < guard.MaxRules-1; i++ {
		rules = append(rules, guard.Rule{
			Name: "decoy-" + strconv.Itoa(i), Syscalls: guard.Presets["memory-access"],
			Match: guard.Matchers{Cgroup: []string{cg.Path}, Comm: []string{"decoy" + strconv.Itoa(i)},
				UID: []uint32{uint32(1000 + i)}, Ancestor: []int{os.Getpid()}},
			Except: guard.Matchers{TargetPID: []int{1 << 29}},
			Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL,
		})
	}
	rules = append(rules, guard.Rule{Name: "last", Match: guard.Matchers{Cgroup: []string{cg.Path}, Comm: []string{"offender"}},
		Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL})
	r := startGuardWith(t, guard.Config{Rules: rules}, 0)
	cmd := cg.Command(offender, "fail")
	assertKilled(t, cmd.Run(), "offender")
	if evs := r.eventsOf(cmd.Process.Pid, 1); len(evs) != 1 || evs[0].Rule != "last" {
		t.Errorf("want one event of rule 64, got %+v", evs)
	}
}
