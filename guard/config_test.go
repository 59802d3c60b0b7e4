package guard

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	ok := Rule{Action: ActionSignalProcess, Signal: syscall.SIGKILL}
	many := make([]Rule, MaxRules+1)
	for i := range many {
		many[i] = ok
	}
	for name, tc := range map[string]struct {
		cfg     Config
		wantErr string
	}{
		"one rule":           {Config{Rules: []Rule{ok}}, ""},
		"own parent":         {Config{Rules: []Rule{{Match: Matchers{PPID: []int{os.Getpid()}}, Action: ActionAudit, Signal: 9}}}, ""},
		"page ring":          {Config{Rules: []Rule{ok}, RingBufferBytes: os.Getpagesize()}, ""},
		"no rules":           {Config{}, "no rules"},
		"too many rules":     {Config{Rules: many}, "at most 64"},
		"signal zero":        {Config{Rules: []Rule{{Action: ActionAudit}}}, "rule rule-1: signal: signal 0"},
		"signal 65":          {Config{Rules: []Rule{{Action: ActionAudit, Signal: 65}}}, "out of range"},
		"negative parent":    {Config{Rules: []Rule{{Name: "x", Match: Matchers{PPID: []int{-1}}, Action: ActionAudit, Signal: 9}}}, "rule x: ppid"},
		"missing parent":     {Config{Rules: []Rule{{Except: Matchers{Ancestor: []int{1 << 30}}, Action: ActionAudit, Signal: 9}}}, "ancestor: no process"},
		"future target":      {Config{Rules: []Rule{{Match: Matchers{TargetPID: []int{1 << 30}}, Action: ActionAudit, Signal: 9}}}, ""},
		"target pid zero":    {Config{Rules: []Rule{{Name: "t", Match: Matchers{TargetPID: []int{0}}, Action: ActionAudit, Signal: 9}}}, "rule t: target pid: 0 is not a process id"},
		"long comm":          {Config{Rules: []Rule{{Except: Matchers{Comm: []string{"0123456789abcdef"}}, Action: ActionAudit, Signal: 9}}}, "comm: \"0123456789abcdef\" is not a command name"},
		"request, open":      {Config{Rules: []Rule{{Syscalls: []Syscall{SyscallPtrace, SyscallOpenat}, Match: Matchers{Request: []int64{16}}, Action: ActionAudit, Signal: 9}}}, "request: ptrace requests only apply"},
		"missing target exe": {Config{Rules: []Rule{{Match: Matchers{TargetExe: []string{"/no/such"}}, Action: ActionAudit, Signal: 9}}}, "target exe: /no/such: no such file"},
		"long list":          {Config{Rules: []Rule{{Match: Matchers{TargetCgroup: make([]string, MaxValues+1)}, Action: ActionAudit, Signal: 9}}}, "target cgroup: 257 values, at most 256 per list"},
		"unknown action":     {Config{Rules: []Rule{{Action: 7, Signal: 9}}}, "unknown action"},
		"ring not pow2":      {Config{Rules: []Rule{ok}, RingBufferBytes: 5000}, "power of two"},
		"ring below a page":  {Config{Rules: []Rule{ok}, RingBufferBytes: 64}, "power of two"},
	} {
		err := tc.cfg.Validate()
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: error %v, want a ConfigError saying %q", name, err, tc.wantErr)
		}
	}
}

func TestRuleString(t *testing.T) {
	for want, r := range map[string]Rule{
		"ptrace: SIGKILL to the calling process, every caller": {Action: ActionSignalProcess, Signal: 9},
		"ptrace: SIGUSR1 to the calling thread, callers with ppid 7": {
			Action: ActionSignalThread, Signal: 10, Match: Matchers{PPID: []int{7}}},
		"ptrace, proc-mem-openat: audit (would send SIGKILL), callers with ppid 7 and cgroup /sys/x/y, except comm gdb|lldb": {
			Syscalls: []Syscall{SyscallPtrace, SyscallOpenat}, Action: ActionAudit, Signal: 9,
			Match: Matchers{PPID: []int{7}, Cgroup: []string{"/sys/x/y"}}, Except: Matchers{Comm: []string{"gdb", "lldb"}}},
	} {
		if got := r.String(); got != want {
			t.Errorf("got  %q\nwant %q", got, want)
		}
	}
}
