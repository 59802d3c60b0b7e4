package cli

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/output"
	"github.com/sigguard/sigguard/internal/policy"
)

// options are the parsed command line of a guarding run.
type options struct {
	ppid      int
	cgroup    string
	signal    syscall.Signal
	thread    bool
	audit     bool
	deny      bool
	tier      guard.Tier
	compat    bool
	keep      bool
	output    output.Format
	logFormat logFormat
	readyFile string
	metrics   string
	policy    string
	pin       bool
	pinDir    string
	help      bool
	version   bool
}

// usageError is bad input: exit status 2, nothing loaded.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func newFlagSet(o *options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("sigguard", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.Var((*pidValue)(&o.ppid), "ppid", "only guard direct children of process `PID` (0: every process)")
	fs.StringVar(&o.cgroup, "cgroup", "", "only guard processes in cgroup v2 directory `PATH` and below it")
	fs.Var((*signalValue)(&o.signal), "signal", "signal to send: a `NAME` (KILL, SIGUSR1, RTMIN+2) or number 1-64")
	fs.BoolVar(&o.thread, "thread", false, "signal only the calling thread (bpf_send_signal_thread)")
	fs.BoolVar(&o.audit, "audit", false, "signal nothing, report what would have been signalled")
	fs.BoolVar(&o.deny, "deny", false, "refuse the call with EPERM and signal nothing (lsm and fmod_ret tiers; SIGKILL where it cannot be refused)")
	fs.Var((*tierValue)(&o.tier), "tier", "enforcement `TIER`: auto (the best the kernel offers), lsm, fmod_ret or signal")
	fs.BoolVar(&o.compat, "compat", false, "also catch 32-bit syscalls (int $0x80); costs every syscall ~110 ns")
	fs.BoolVar(&o.keep, "keep-collateral", false, "after a kill, leave a victim the attach stopped stopped, and the killed caller's traced children alive")
	fs.Var((*formatValue)(&o.output), "output", "output `FORMAT`: table or json (JSON lines)")
	fs.Var((*logFormatValue)(&o.logFormat), "log-format", "stderr `FORMAT`: text, or json (JSON lines with time, level, msg and fields)")
	fs.StringVar(&o.policy, "policy", "", "enforce the rules in policy `FILE` (YAML; SIGHUP re-reads it)")
	fs.StringVar(&o.readyFile, "ready-file", "", "write `PATH` once enforcement is live; removed at exit")
	fs.StringVar(&o.metrics, "metrics-addr", "", "serve Prometheus metrics (/metrics), liveness (/healthz) and readiness (/readyz) on `HOST:PORT`")
	fs.BoolVar(&o.pin, "pin", false, "keep enforcing after sigguard exits or dies (pinned under "+guard.DefaultPinDir+"); a later sigguard --pin adopts it")
	fs.StringVar(&o.pinDir, "pin-dir", guard.DefaultPinDir, "pin in `DIR` on the bpf filesystem (implies --pin)")
	fs.BoolVarP(&o.help, "help", "h", false, "show this help")
	fs.BoolVar(&o.version, "version", false, "print the version")
	return fs
}

// parseArgs reads the command line; every error it returns is a usageError.
func parseArgs(args []string) (options, *pflag.FlagSet, error) {
	o := options{signal: syscall.SIGKILL, output: output.Table, logFormat: logText}
	fs := newFlagSet(&o)
	fs.SetOutput(discard{})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			o.help = true
			return o, fs, nil
		}
		return o, fs, usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return o, fs, usagef("unexpected argument %q (sigguard takes only flags)", fs.Arg(0))
	}
	// An empty value would silently widen the scope: --cgroup "$UNSET"
	// must not turn into a guard of every process.
	for _, name := range []string{"cgroup", "ready-file", "policy", "metrics-addr", "pin-dir"} {
		if f := fs.Lookup(name); fs.Changed(name) && f.Value.String() == "" {
			return o, fs, usagef("--%s has an empty value (name a path)", name)
		}
	}
	if o.policy != "" {
		for _, name := range ruleFlags {
			if fs.Changed(name) {
				return o, fs, usagef("--policy and --%s exclude each other (put it in the policy's rules)", name)
			}
		}
	}
	if fs.Changed("pin-dir") {
		o.pin = true
	}
	if o.thread && o.audit {
		return o, fs, usagef("--thread and --audit exclude each other (audit signals nothing)")
	}
	if o.deny && (o.audit || o.thread || fs.Changed("signal")) {
		return o, fs, usagef("--deny excludes --audit, --thread and --signal (it refuses the call and sends nothing; " +
			"without --deny, the deny tiers refuse the call and send the signal too)")
	}
	if o.readyFile != "" {
		if err := checkOutputPath("--ready-file", o.readyFile); err != nil {
			return o, fs, err
		}
	}
	if o.metrics != "" {
		if _, port, err := net.SplitHostPort(o.metrics); err != nil || port == "" {
			return o, fs, usagef("--metrics-addr %s: not HOST:PORT (e.g. 127.0.0.1:9911)", o.metrics)
		}
	}
	return o, fs, nil
}

// checkOutputPath refuses a file path given to flag that could only fail
// later, once work is under way: its directory must exist and be writable.
func checkOutputPath(flag, path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		return usagef("%s %s: directory %s does not exist (create it first)", flag, path, dir)
	case !st.IsDir():
		return usagef("%s %s: %s is not a directory", flag, path, dir)
	case unix.Access(dir, unix.W_OK) != nil:
		return usagef("%s %s: directory %s is not writable", flag, path, dir)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return usagef("%s %s: is a directory (name a file in it)", flag, path)
	}
	return nil
}

// ruleFlags are the flags that shape the one rule the command line makes.
var ruleFlags = []string{"ppid", "cgroup", "signal", "thread", "audit", "deny", "compat", "keep-collateral"}

// config turns the flags into a one-rule guard configuration.
func (o options) config() guard.Config {
	action := guard.ActionSignalProcess
	switch {
	case o.audit:
		action = guard.ActionAudit
	case o.thread:
		action = guard.ActionSignalThread
	case o.deny:
		action = guard.ActionDeny
	}
	rule := guard.Rule{Name: "command-line", Syscalls: []guard.Syscall{guard.SyscallPtrace}, Action: action, Signal: o.signal}
	if o.ppid != 0 {
		rule.Match.PPID = []int{o.ppid}
	}
	if o.cgroup != "" {
		rule.Match.Cgroup = []string{o.cgroup}
	}
	return guard.Config{Rules: []guard.Rule{rule}, Compat: o.compat, KeepCollateral: o.keep, Tier: o.tier}
}

// load is the guard configuration the run enforces: the policy file's, or
// the flags' one rule.
func (o options) load() (guard.Config, error) {
	cfg := o.config()
	if o.policy != "" {
		var err error
		if cfg, err = policy.Load(o.policy); err != nil {
			return cfg, err
		}
	}
	cfg.PinDir = o.pinning()
	cfg.Tier = o.tier
	return cfg, nil
}

// pinning is where to pin, or "" for an unpinned run.
func (o options) pinning() string {
	if !o.pin {
		return ""
	}
	return o.pinDir
}

// explain words a rejected configuration in terms of the flag that made it.
func (o options) explain(ce *guard.ConfigError) string {
	switch ce.Setting {
	case guard.SettingParentPID:
		return fmt.Sprintf("--ppid %d: %v", o.ppid, ce.Err)
	case guard.SettingCgroup:
		return fmt.Sprintf("--cgroup %s: %v", o.cgroup, ce.Err)
	case guard.SettingSignal:
		return fmt.Sprintf("--signal: %v", ce.Err)
	case guard.SettingPinDir:
		return fmt.Sprintf("--pin-dir: %v", ce.Err)
	case guard.SettingTier:
		return fmt.Sprintf("--tier %s: %v (leave it out to take the best tier available)", o.tier, ce.Err)
	}
	return ce.Error()
}

type pidValue int

func (v *pidValue) String() string { return strconv.Itoa(int(*v)) }
func (v *pidValue) Type() string   { return "PID" }
func (v *pidValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("not a process id (use a whole number; 0 means every process)")
	}
	*v = pidValue(n)
	return nil
}

type signalValue syscall.Signal

func (v *signalValue) String() string { return guard.SignalName(syscall.Signal(*v)) }
func (v *signalValue) Type() string   { return "SIGNAL" }
func (v *signalValue) Set(s string) error {
	sig, err := guard.ParseSignal(s)
	if err != nil {
		return err
	}
	*v = signalValue(sig)
	return nil
}

type tierValue guard.Tier

func (v *tierValue) String() string {
	if *v == tierValue(guard.TierAuto) {
		return "auto"
	}
	return string(*v)
}
func (v *tierValue) Type() string { return "TIER" }
func (v *tierValue) Set(s string) error {
	t, err := guard.ParseTier(s)
	if err != nil {
		return err
	}
	*v = tierValue(t)
	return nil
}

type formatValue output.Format

func (v *formatValue) String() string { return string(*v) }
func (v *formatValue) Type() string   { return "FORMAT" }
func (v *formatValue) Set(s string) error {
	f, err := output.ParseFormat(s)
	if err != nil {
		return err
	}
	*v = formatValue(f)
	return nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
