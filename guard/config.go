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
	// ActionDeny refuses the call with EPERM and signals nothing, in the
	// deny tiers (lsm, fmod_ret). Where the call cannot be refused (the
	// signal tier; ptrace requests other than attach and seize) the caller
	// gets SIGKILL instead. In the deny tiers, the signal actions refuse
	// the call too, and also send their signal.
	ActionDeny = Action(bpf.GuardActionSG_ACTION_DENY)
)

func (a Action) String() string {
	switch a {
	case ActionAudit:
		return "audit"
	case ActionSignalProcess:
		return "signal-process"
	case ActionSignalThread:
		return "signal-thread"
	case ActionDeny:
		return "deny"
	}
	return "action-" + strconv.Itoa(int(a))
}

// MaxRules is how many rules the kernel side holds (bits of a mask).
const MaxRules = 64

// MaxValues is how many values one list of one rule may hold, and
// MaxMatcherValues how many values all rules together may name.
const (
	MaxValues        = 256
	MaxMatcherValues = 8192
)

// DefaultRingBufferBytes is the ring buffer size when Config leaves it 0.
const DefaultRingBufferBytes = 256 << 10

// Rule selects calls and says what to do to their callers. A call matches
// when every list under Match holds one of the call's values, and no list
// under Except does.
type Rule struct {
	// Name appears in events and counters; empty means "rule-N".
	Name string
	// Syscalls the rule guards; empty means ptrace only.
	Syscalls []Syscall
	Match    Matchers
	Except   Matchers
	// Action is what happens to a matching caller.
	Action Action
	// Signal is sent by the signal actions and reported by audit.
	Signal syscall.Signal

	// Args are conditions on the call's arguments, every one of which
	// must hold; When holds conditions on its result, judged at its exit.
	// A rule with either, or with AtMost or DenyErrno, is judged by the
	// generic route for each of its syscalls (docs/policy.md#any-syscall).
	Args []ArgCondition
	When When
	// AtMost limits the signals and events the rule makes; nil: none.
	AtMost *RateLimit
	// DenyErrno is the error a deny rule refuses a generic route's
	// syscall with in the deny tiers; 0 means EPERM.
	DenyErrno syscall.Errno
}

// Matchers are lists of values; an empty list does not constrain. Each field
// is a key, a row of matchKeys (keys.go), which parses, checks, compiles and
// describes it.
type Matchers struct {
	UID  []uint32
	Comm []string // the calling thread's command name, at most 15 bytes
	// Exe paths are resolved to device and inode when the rule is loaded:
	// renaming, copying to a new name, or changing comm does not escape.
	Exe      []string
	PPID     []int    // the real parent's pid
	Ancestor []int    // any ancestor's pid, at any depth
	Cgroup   []string // cgroup v2 directories; each covers its subtree
	Request  []int64  // ptrace requests; only for rules guarding ptrace alone
	// TargetPID protects these processes, by their pid in the initial pid
	// namespace, and every thread of each. The kernel side resolves what
	// a call names (a pid in the caller's own pid namespace, a pidfd, a
	// /proc/<pid> file) to the task, as the kernel itself does.
	TargetPID []int
	// TargetExe and TargetCgroup protect processes by what they run and
	// where they live, read from the target task at the call: a thread
	// moved to another cgroup is judged where it is.
	TargetExe    []string
	TargetCgroup []string
}

func (m Matchers) empty() bool {
	for _, k := range matchKeys {
		if k.values.count(m) > 0 {
			return false
		}
	}
	return true
}

// Config is everything a Guard enforces.
type Config struct {
	// Rules are tried in order; the first that matches decides.
	Rules []Rule
	// Compat also guards 32-bit syscalls (int $0x80 and 32-bit programs),
	// which fire no syscall tracepoint. It hooks the whole syscall table:
	// every syscall of every process pays for a check (~110 ns measured).
	Compat bool
	// KeepCollateral turns off the clean-up after a kill: by default, a
	// process a killed PTRACE_ATTACH left stopped (and that was running
	// before) gets SIGCONT, and a child of the killed caller that its
	// ptrace call targeted (strace's probe child, a traced command) is
	// killed too, once the caller's exit is confirmed.
	KeepCollateral bool
	// RingBufferBytes sizes the event ring buffer: a power of two and a
	// multiple of the page size. 0 means DefaultRingBufferBytes. It cannot
	// change on Reload.
	RingBufferBytes int
	// PinDir, when set, pins the programs, hooks and maps in this
	// directory on the BPF filesystem (e.g. DefaultPinDir): enforcement
	// goes on after the guard closes or its process dies, and the next
	// guard started with the same PinDir adopts them without a moment
	// unguarded. Unpin removes them. It cannot change on Reload.
	PinDir string
	// Tier picks how to enforce: TierAuto (the best the kernel offers),
	// or a tier that must be available. It cannot change on Reload.
	Tier Tier
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
	SettingName       Setting = "name"
	SettingSyscalls   Setting = "syscalls"
	SettingAction     Setting = "action"
	SettingSignal     Setting = "signal"
	SettingUID        Setting = "uid"
	SettingComm       Setting = "comm"
	SettingExe        Setting = "exe"
	SettingParentPID  Setting = "ppid"
	SettingAncestor   Setting = "ancestor"
	SettingCgroup     Setting = "cgroup"
	SettingRequest    Setting = "request"
	SettingTargetPID  Setting = "target pid"
	SettingTargetExe  Setting = "target exe"
	SettingTargetCg   Setting = "target cgroup"
	SettingRingBuffer Setting = "ring buffer size"
	SettingPinDir     Setting = "pin directory"
	SettingTier       Setting = "tier"
	SettingArgs       Setting = "args"
	SettingWhen       Setting = "when"
	SettingAtMost     Setting = "at_most"
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
// looking up the processes, files and cgroups it names.
func (c Config) Validate() error {
	_, err := compile(c, 0)
	if err != nil {
		return err
	}
	return validateRingBufferSize(c.RingBufferBytes)
}

func (r Rule) nameOr(index int) string {
	if r.Name != "" {
		return r.Name
	}
	return "rule-" + strconv.Itoa(index+1)
}

// GuardedSyscalls is the rule's syscall set: ptrace when none is named.
func (r Rule) GuardedSyscalls() []Syscall { return r.syscalls() }

func (r Rule) syscalls() []Syscall {
	if len(r.Syscalls) == 0 {
		return []Syscall{SyscallPtrace}
	}
	return r.Syscalls
}

func (r Rule) validate() error {
	switch r.Action {
	case ActionAudit, ActionSignalProcess, ActionSignalThread, ActionDeny:
	default:
		return configError(SettingAction, "unknown action %d", r.Action)
	}
	// A deny rule sends SIGKILL where it cannot refuse, whatever Signal says.
	if _, err := signalInRange(int(r.Signal)); err != nil && r.Action != ActionDeny {
		return &ConfigError{Setting: SettingSignal, Err: err}
	}
	for _, s := range r.syscalls() {
		if _, ok := hooks[s]; !ok && !s.Generic() {
			return configError(SettingSyscalls, "unknown syscall %d", s)
		}
	}
	generic, err := r.genericSyscalls()
	if err != nil {
		return err
	}
	keysFor := r.syscalls()
	if r.hasConditions() {
		keysFor = generic
	}
	for _, m := range []Matchers{r.Match, r.Except} {
		if err := m.validate(keysFor); err != nil {
			return err
		}
	}
	if len(generic) > 0 || r.hasConditions() {
		return r.validateGeneric(generic)
	}
	return nil
}

// validate checks the lists against the limits, then every value, then
// that the rule's syscalls allow each key listed.
func (m Matchers) validate(syscalls []Syscall) error {
	return eachKey(func(k MatchKey) error {
		if n := k.values.count(m); n > MaxValues {
			return fmt.Errorf("%d values, at most %d per list (split the rule)", n, MaxValues)
		}
		return nil
	}, func(k MatchKey) error {
		return k.values.check(m)
	}, func(k MatchKey) error {
		if k.fits == nil || k.values.count(m) == 0 {
			return nil
		}
		return k.fits(syscalls)
	})
}

func processExists(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
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
	names := make([]string, 0, len(r.syscalls()))
	for _, s := range r.syscalls() {
		names = append(names, s.String())
	}
	b.WriteString(strings.Join(names, ", ") + ": ")
	switch r.Action {
	case ActionAudit:
		b.WriteString("audit (would send " + SignalName(r.Signal) + ")")
	case ActionSignalThread:
		b.WriteString(SignalName(r.Signal) + " to the calling thread")
	case ActionDeny:
		b.WriteString("refuse with " + r.denyErrnoName() + " (SIGKILL where the call cannot be refused)")
	default:
		b.WriteString(SignalName(r.Signal) + " to the calling process")
	}
	if r.Match.empty() {
		b.WriteString(", every caller")
	} else {
		b.WriteString(", callers with " + r.Match.String())
	}
	if !r.Except.empty() {
		b.WriteString(", except " + r.Except.String())
	}
	b.WriteString(r.conditionsString())
	return b.String()
}

func (m Matchers) String() string {
	var parts []string
	for _, k := range matchKeys {
		if vals := k.values.format(m); len(vals) > 0 {
			parts = append(parts, string(k.Setting())+" "+strings.Join(vals, "|"))
		}
	}
	return strings.Join(parts, " and ")
}

// errorIn attaches a rule's name to the error a check of it returned.
func errorIn(err error, rule string) error {
	var ce *ConfigError
	if errors.As(err, &ce) && ce.Rule == "" {
		ce.Rule = rule
	}
	return err
}
