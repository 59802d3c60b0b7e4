package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/output"
)

func TestNoArgumentsIsTheTutorialsBehaviour(t *testing.T) {
	o, _, err := parseArgs(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := guard.Rule{Name: "command-line", Syscalls: []guard.Syscall{guard.SyscallPtrace}, Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL}
	cfg := o.config()
	if len(cfg.Rules) != 1 || !reflect.DeepEqual(cfg.Rules[0], want) || o.output != output.Table {
		t.Errorf("no arguments: %+v, output %s; want %+v as a table", cfg.Rules, o.output, want)
	}
}

func TestFlagsBecomeOneRule(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want guard.Rule
		out  output.Format
	}{
		{[]string{"--ppid", "1", "--signal", "USR1"}, guard.Rule{Match: guard.Matchers{PPID: []int{1}}, Action: guard.ActionSignalProcess, Signal: syscall.SIGUSR1}, output.Table},
		{[]string{"--ppid=0", "--signal=SIGRTMIN+1", "--thread"}, guard.Rule{Action: guard.ActionSignalThread, Signal: 35}, output.Table},
		{[]string{"--audit", "--output", "json", "--signal", "64"}, guard.Rule{Action: guard.ActionAudit, Signal: 64}, output.JSON},
		{[]string{"--cgroup", "/sys/fs/cgroup/x", "--ready-file", filepath.Join(dir, "ready")}, guard.Rule{Match: guard.Matchers{Cgroup: []string{"/sys/fs/cgroup/x"}}, Action: guard.ActionSignalProcess, Signal: 9}, output.Table},
	} {
		o, _, err := parseArgs(tc.args)
		if err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		tc.want.Name = "command-line"
		tc.want.Syscalls = []guard.Syscall{guard.SyscallPtrace}
		if got := o.config().Rules[0]; !reflect.DeepEqual(got, tc.want) || o.output != tc.out {
			t.Errorf("%v: rule %+v output %s, want %+v %s", tc.args, got, o.output, tc.want, tc.out)
		}
	}
}

func TestBadInputExitsTwoWithOneLine(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notDir, nil, 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, "unknown flag: --bogus"},
		{[]string{"-x"}, "unknown shorthand flag"},
		{[]string{"--signal", "0"}, "signal 0 is not a signal"},
		{[]string{"--signal", "65"}, "signal 65 is out of range"},
		{[]string{"--signal", "FOO"}, `unknown signal "FOO"`},
		{[]string{"--signal"}, "flag needs an argument: --signal"},
		{[]string{"--ppid", "-1"}, `invalid argument "-1" for "--ppid"`},
		{[]string{"--ppid", "abc"}, `invalid argument "abc" for "--ppid"`},
		{[]string{"--output", "xml"}, `unknown output format "xml"`},
		{[]string{"--ready-file", "/no/such/dir/ready"}, "directory /no/such/dir does not exist"},
		{[]string{"--ready-file", notDir + "/ready"}, "is not a directory"},
		{[]string{"--ready-file", t.TempDir()}, "is a directory"},
		{[]string{"--thread", "--audit"}, "--thread and --audit exclude each other"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--cgroup", ""}, "--cgroup has an empty value"},
		{[]string{"--ready-file="}, "--ready-file has an empty value"},
		{[]string{"--policy", ""}, "--policy has an empty value"},
		{[]string{"--metrics-addr", "localhost"}, "--metrics-addr localhost: not HOST:PORT"},
		{[]string{"--policy", "p.yaml", "--ppid", "1"}, "--policy and --ppid exclude each other"},
		{[]string{"--policy", "p.yaml", "--audit"}, "--policy and --audit exclude each other"},
	} {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), tc.args, &stdout, &stderr)
		msg := stderr.String()
		if code != exitUsage || !strings.Contains(msg, tc.want) || strings.Count(msg, "\n") != 1 || stdout.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line saying %q", tc.args, code, msg, tc.want)
		}
		if !strings.HasPrefix(msg, "sigguard: ") || !strings.Contains(msg, "--help") {
			t.Errorf("%v: %q does not name the program and point at --help", tc.args, msg)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}} {
		var stdout, stderr bytes.Buffer
		if code := Main(context.Background(), args, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "--ready-file") {
			t.Errorf("%v: exit %d, %q", args, code, stdout.String())
		}
	}
	var stdout bytes.Buffer
	if code := Main(context.Background(), []string{"--version"}, &stdout, &bytes.Buffer{}); code != 0 || !strings.HasPrefix(stdout.String(), "sigguard ") {
		t.Errorf("--version: exit %d, %q", code, stdout.String())
	}
}

func TestUsageErrorIsDistinguishable(t *testing.T) {
	_, _, err := parseArgs([]string{"--bogus"})
	var ue *usageError
	if !errors.As(err, &ue) {
		t.Errorf("%v is not a usageError", err)
	}
}

func TestBenchRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--runs", "0"}, "bench takes --runs N (N >= 1)"},
		{[]string{"bench", "--runs", "x"}, `invalid argument "x" for "--runs"`},
		{[]string{"bench", "--plot", "out.png"}, "only SVG is drawn"},
		{[]string{"bench", "--plot", "/no/such/dir/out.svg"}, "--plot /no/such/dir/out.svg: directory /no/such/dir does not exist"},
		{[]string{"bench", "extra"}, "bench takes --runs N"},
		{[]string{"bench", "--only", "hooks,nope"}, "--only nope: no such step (the steps are escape, overhead, hooks, throughput, endtoend, footprint)"},
		{[]string{"check"}, "check takes one policy file"},
	} {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), tc.args, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), tc.want) || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 saying %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
