package guard

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/sigguard/sigguard/internal/bpf"
)

// Action is what a matching rule does to the caller.
type Action uint8

const (
	// ActionAudit signals nothing and only reports.
	ActionAudit = Action(bpf.GuardActionSG_ACTION_AUDIT)
	// ActionSignalProcess signals the caller's whole thread group
	// (bpf_send_signal).
	ActionSignalProcess = Action(bpf.GuardActionSG_ACTION_SIGNAL_PROCESS)
	// ActionSignalThread signals only the calling thread
	// (bpf_send_signal_thread). SIGKILL is still fatal to the whole process.
	ActionSignalThread = Action(bpf.GuardActionSG_ACTION_SIGNAL_THREAD)
)

func (a Action) String() string {
	switch a {
	case ActionAudit:
		return "audit"
	case ActionSignalProcess:
		return "signal-process"
	case ActionSignalThread:
		return "signal-thread"
	}
	return "action-" + strconv.Itoa(int(a))
}

// MaxRules is how many rules the kernel side can hold.
const MaxRules = 32

// DefaultRingBufferBytes is the ring buffer size when Config leaves it 0.
const DefaultRingBufferBytes = 256 << 10

// Rule selects callers of the guarded syscalls and says what to do to them.
// Every filter that is set must hold; an unset filter matches everyone.
type Rule struct {
	// Name appears in events; empty means "rule-N".
	Name string
	// ParentPID limits the rule to direct children of this process (the
	// real parent, as in the tutorial's target_ppid); 0 means any parent.
	ParentPID int
	// Cgroup limits the rule to processes in this cgroup v2 directory or
	// below it; absolute, or relative to the cgroup v2 mount. Empty: any.
	Cgroup string
	// Action is what happens to a matching caller.
	Action Action
	// Signal is sent by the signal actions and reported by audit.
	Signal syscall.Signal
}

// Config is everything a Guard enforces.
type Config struct {
	// Rules are tried in order; the first that matches decides.
	Rules []Rule
	// RingBufferBytes sizes the event ring buffer: a power of two and a
	// multiple of the page size. 0 means DefaultRingBufferBytes.
	RingBufferBytes int
}

// ConfigError reports a configuration the guard refuses to start with.
type ConfigError struct {
	Rule    string  // the rule's name; empty for settings outside rules
	Setting Setting // which setting is wrong
	Err     error
}

// Setting names a part of the configuration, for error messages.
type Setting string

const (
	SettingRules      Setting = "rules"
	SettingAction     Setting = "action"
	SettingSignal     Setting = "signal"
	SettingParentPID  Setting = "parent pid"
	SettingCgroup     Setting = "cgroup"
	SettingRingBuffer Setting = "ring buffer size"
)

func (e *ConfigError) Error() string {
	if e.Rule == "" {
		return string(e.Setting) + ": " + e.Err.Error()
	}
	return "rule " + e.Rule + ": " + string(e.Setting) + ": " + e.Err.Error()
}

func (e *ConfigError) Unwrap() error { return e.Err }

func configError(setting Setting, format string, args ...any) error {
	return &ConfigError{Setting: setting, Err: fmt.Errorf(format, args...)}
}

// Validate checks the configuration without touching the kernel beyond
// looking up the processes it names.
func (c Config) Validate() error {
	if len(c.Rules) == 0 {
		return configError(SettingRules, "no rules (add at least one)")
	}
	if len(c.Rules) > MaxRules {
		return configError(SettingRules, "%d rules, the kernel side holds at most %d (merge rules)", len(c.Rules), MaxRules)
	}
	for i, r := range c.Rules {
		if err := r.validate(); err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) {
				ce.Rule = r.nameOr(i)
			}
			return err
		}
	}
	return validateRingBufferSize(c.RingBufferBytes)
}

func (r Rule) nameOr(index int) string {
	if r.Name != "" {
		return r.Name
	}
	return "rule-" + strconv.Itoa(index+1)
}

func (r Rule) validate() error {
	switch r.Action {
	case ActionAudit, ActionSignalProcess, ActionSignalThread:
	default:
		return configError(SettingAction, "unknown action %d", r.Action)
	}
	if _, err := signalInRange(int(r.Signal)); err != nil {
		return &ConfigError{Setting: SettingSignal, Err: err}
	}
	if r.ParentPID < 0 {
		return configError(SettingParentPID, "%d is not a process id (use a positive number, or 0 for any parent)", r.ParentPID)
	}
	if r.ParentPID > 0 {
		if _, err := os.Stat("/proc/" + strconv.Itoa(r.ParentPID)); err != nil {
			return configError(SettingParentPID, "no process %d (check the pid with ps)", r.ParentPID)
		}
	}
	return nil
}

func validateRingBufferSize(n int) error {
	if n == 0 {
		return nil
	}
	page := os.Getpagesize()
	if n < page || n&(n-1) != 0 {
		return configError(SettingRingBuffer, "%d bytes is not a power of two of at least %d (try %d)", n, page, DefaultRingBufferBytes)
	}
	return nil
}

// String says in words what the rule does, for start-up lines and checks.
func (r Rule) String() string {
	var b strings.Builder
	switch r.Action {
	case ActionAudit:
		b.WriteString("audit (would send " + SignalName(r.Signal) + ")")
	case ActionSignalThread:
		b.WriteString(SignalName(r.Signal) + " to the calling thread")
	default:
		b.WriteString(SignalName(r.Signal) + " to the calling process")
	}
	var who []string
	if r.ParentPID > 0 {
		who = append(who, "children of pid "+strconv.Itoa(r.ParentPID))
	}
	if r.Cgroup != "" {
		who = append(who, "cgroup "+r.Cgroup)
	}
	if len(who) == 0 {
		b.WriteString(", every process")
	} else {
		b.WriteString(", " + strings.Join(who, " in "))
	}
	return b.String()
}
