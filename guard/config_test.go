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
		"one rule":          {Config{Rules: []Rule{ok}}, ""},
		"own parent":        {Config{Rules: []Rule{{ParentPID: os.Getpid(), Action: ActionAudit, Signal: 9}}}, ""},
		"page ring":         {Config{Rules: []Rule{ok}, RingBufferBytes: os.Getpagesize()}, ""},
		"no rules":          {Config{}, "no rules"},
		"too many rules":    {Config{Rules: many}, "at most 32"},
		"signal zero":       {Config{Rules: []Rule{{Action: ActionAudit}}}, "rule rule-1: signal: signal 0"},
		"signal 65":         {Config{Rules: []Rule{{Action: ActionAudit, Signal: 65}}}, "out of range"},
		"negative parent":   {Config{Rules: []Rule{{Name: "x", ParentPID: -1, Action: ActionAudit, Signal: 9}}}, "rule x: parent pid"},
		"missing parent":    {Config{Rules: []Rule{{ParentPID: 1 << 30, Action: ActionAudit, Signal: 9}}}, "no process"},
		"unknown action":    {Config{Rules: []Rule{{Action: 7, Signal: 9}}}, "unknown action"},
		"ring not pow2":     {Config{Rules: []Rule{ok}, RingBufferBytes: 5000}, "power of two"},
		"ring below a page": {Config{Rules: []Rule{ok}, RingBufferBytes: 64}, "power of two"},
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
		"SIGKILL to the calling process, every process":                    {Action: ActionSignalProcess, Signal: 9},
		"SIGUSR1 to the calling thread, children of pid 7":                 {Action: ActionSignalThread, Signal: 10, ParentPID: 7},
		"audit (would send SIGKILL), children of pid 7 in cgroup /sys/x/y": {Action: ActionAudit, Signal: 9, ParentPID: 7, Cgroup: "/sys/x/y"},
	} {
		if got := r.String(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
