package guard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sigguard/sigguard/internal/bpf"
)

// MatchKey is one key a rule matches on: a row of matchKeys, the table that
// policies are parsed by (internal/policy), rules are checked, compiled for
// the kernel and described by, and docs/policy.md's Keys table is made from
// (go test ./guard -run TestKeysTableInDocs -update rewrites it).
type MatchKey struct {
	name   string            // as a policy writes it; a dot nests: target.pid is pid under target
	kernel bpf.GuardMatchKey // the key the kernel side compares
	values values            // the Matchers field, and the kind of its values
	// fits says whether a rule guarding these syscalls may list the key;
	// nil: every rule may.
	fits func(syscalls []Syscall) error
	// For the docs: the key holds when ..., and notes on it.
	holds, notes string
}

// matchKeys are the keys, in the order policies, descriptions and the docs
// list them. A key is a row here and a field of Matchers.
var matchKeys = []MatchKey{
	{
		name: "uid", kernel: bpf.GuardMatchKeySG_KEY_UID,
		values: listOf(uids, func(m *Matchers) *[]uint32 { return &m.UID }),
		holds:  "the caller's real uid is listed",
		notes:  "numbers or user names (resolved when the policy loads)",
	},
	{
		name: "comm", kernel: bpf.GuardMatchKeySG_KEY_COMM,
		values: listOf(commNames, func(m *Matchers) *[]string { return &m.Comm }),
		holds:  "the calling thread's command name is listed",
		notes: "at most 15 bytes, as in `/proc/PID/comm`; trivially changed by the caller, " +
			"so use it to *select*, not to *exempt*",
	},
	{
		name: "exe", kernel: bpf.GuardMatchKeySG_KEY_EXE,
		values: listOf(executables, func(m *Matchers) *[]string { return &m.Exe }),
		holds:  "the caller runs one of these files",
		notes: "matched by device and inode, resolved when the policy loads: renaming, a hard link, " +
			"or a new comm does not escape; replacing the file (a package upgrade) needs a reload",
	},
	{
		name: "ppid", kernel: bpf.GuardMatchKeySG_KEY_PPID,
		values: listOf(processes, func(m *Matchers) *[]int { return &m.PPID }),
		holds:  "the caller's real parent is one of these pids",
		notes:  "the direct parent only",
	},
	{
		name: "ancestor", kernel: bpf.GuardMatchKeySG_KEY_ANCESTOR,
		values: listOf(processes, func(m *Matchers) *[]int { return &m.Ancestor }),
		holds:  "one of these pids is the caller's parent, grandparent, ...",
		notes:  "up to " + strconv.Itoa(int(bpf.GuardLimitSG_MAX_ANCESTOR_DEPTH)) + " generations",
	},
	{
		name: "cgroup", kernel: bpf.GuardMatchKeySG_KEY_CGROUP,
		values: listOf(cgroups, func(m *Matchers) *[]string { return &m.Cgroup }),
		holds:  "the caller is in one of these cgroup v2 directories or below",
		notes: "paths as `/proc/PID/cgroup` prints them (`/system.slice/x.service`) " +
			"or under the mount (`/sys/fs/cgroup/...`); followed by path: a directory made again " +
			"(docker restart) is matched again without a reload",
	},
	{
		name: "request", kernel: bpf.GuardMatchKeySG_KEY_REQUEST,
		values: listOf(requests, func(m *Matchers) *[]int64 { return &m.Request }),
		fits:   ptraceAlone,
		holds:  "the ptrace request is listed",
		notes:  "names (`PTRACE_ATTACH`, `attach`) or numbers; only in rules that guard ptrace alone",
	},
	{
		name: "target.pid", kernel: bpf.GuardMatchKeySG_KEY_TARGET_PID,
		values: listOf(pids, func(m *Matchers) *[]int { return &m.TargetPID }),
		fits:   routesOnly,
		holds:  "the call reaches one of these processes",
		notes: "host pids (the initial pid namespace's); covers every thread of each; " +
			"see [Targets](#targets-and-pid-namespaces)",
	},
	{
		name: "target.exe", kernel: bpf.GuardMatchKeySG_KEY_TARGET_EXE,
		values: listOf(executables, func(m *Matchers) *[]string { return &m.TargetExe }),
		fits:   routesOnly,
		holds:  "the process the call reaches runs one of these files",
		notes:  "by device and inode, read from the target at the call",
	},
	{
		name: "target.cgroup", kernel: bpf.GuardMatchKeySG_KEY_TARGET_CGROUP,
		values: listOf(cgroups, func(m *Matchers) *[]string { return &m.TargetCgroup }),
		fits:   routesOnly,
		holds:  "the thread the call reaches is in one of these cgroups or below",
		notes: "read from the target at the call: a thread moved after it started is judged where it is; " +
			"followed by path, as `cgroup`",
	},
}

// MatchKeys are the keys of Matchers, in the order policies list them.
func MatchKeys() []MatchKey { return slices.Clone(matchKeys) }

// Name is the key as a policy file writes it: "uid", or "target.pid" for
// pid under target.
func (k MatchKey) Name() string { return k.name }

// Setting is what a ConfigError about the key's values names, and how rule
// descriptions name the key: "uid", "target pid".
func (k MatchKey) Setting() Setting { return Setting(strings.ReplaceAll(k.name, ".", " ")) }

// Add reads value as a policy file writes it (a uid as a number or a user
// name, a ptrace request by name...) and appends it to the key's list in m.
func (k MatchKey) Add(m *Matchers, value string) error { return k.values.add(m, value) }

// eachKey runs the passes in turn, each over every key in order, and
// stops at the first error, which it places at that key's setting.
func eachKey(passes ...func(k MatchKey) error) error {
	for _, pass := range passes {
		for _, k := range matchKeys {
			if err := pass(k); err != nil {
				return &ConfigError{Setting: k.Setting(), Err: err}
			}
		}
	}
	return nil
}

// values is a Matchers field, with the kind of its values.
type values interface {
	count(m Matchers) int
	add(m *Matchers, text string) error
	check(m Matchers) error
	compile(m Matchers, key bpf.GuardMatchKey, out []keyValue) ([]keyValue, error)
	format(m Matchers) []string
	kindName() string
}

// kind is a kind of value keys list: how a policy writes one, what loading
// checks of it, what the kernel compares it as, and how rules show it.
type kind[T any] struct {
	name    string
	parse   func(text string) (T, error)
	check   func(v T) error                    // before anything is resolved; nil: none
	compile func(v T) (a, b uint64, err error) // resolved to what the kernel compares
	format  func(v T) string                   // nil: fmt.Sprint
	// tracked values are paths whose kernel value changes when the
	// directory is made again (cgroups): compile resolves them, and the
	// guard follows them (cgroups.go). compile is nil.
	tracked bool
}

var (
	uids        = &kind[uint32]{name: "uid", parse: parseUID, compile: number[uint32]}
	commNames   = &kind[string]{name: "name", parse: asIs, check: checkComm, compile: commBytes}
	executables = &kind[string]{name: "path", parse: asIs, compile: executableID}
	cgroups     = &kind[string]{name: "cgroup", parse: asIs, tracked: true}
	// processes are pids of running processes; pids may name a pid no
	// process has yet.
	processes = &kind[int]{name: "process", parse: parsePID, check: runningPID, compile: number[int]}
	pids      = &kind[int]{name: "pid", parse: parsePID, check: positivePID, compile: number[int]}
	requests  = &kind[int64]{name: "request", parse: ParsePtraceRequest, compile: number[int64], format: PtraceRequestName}
)

// list is the field of Matchers that of returns, holding values of kind k.
type list[T any] struct {
	k  *kind[T]
	of func(m *Matchers) *[]T
}

func listOf[T any](k *kind[T], of func(m *Matchers) *[]T) values { return list[T]{k, of} }

func (l list[T]) count(m Matchers) int { return len(*l.of(&m)) }
func (l list[T]) kindName() string     { return l.k.name }

func (l list[T]) add(m *Matchers, text string) error {
	v, err := l.k.parse(text)
	if err != nil {
		return err
	}
	field := l.of(m)
	*field = append(*field, v)
	return nil
}

func (l list[T]) check(m Matchers) error {
	if l.k.check == nil {
		return nil
	}
	for _, v := range *l.of(&m) {
		if err := l.k.check(v); err != nil {
			return err
		}
	}
	return nil
}

func (l list[T]) compile(m Matchers, key bpf.GuardMatchKey, out []keyValue) ([]keyValue, error) {
	for _, v := range *l.of(&m) {
		if l.k.tracked {
			out = append(out, keyValue{key: key, path: fmt.Sprint(v)})
			continue
		}
		a, b, err := l.k.compile(v)
		if err != nil {
			return nil, err
		}
		out = append(out, keyValue{key: key, a: a, b: b})
	}
	return out, nil
}

func (l list[T]) format(m Matchers) []string {
	var out []string
	for _, v := range *l.of(&m) {
		if l.k.format != nil {
			out = append(out, l.k.format(v))
		} else {
			out = append(out, fmt.Sprint(v))
		}
	}
	return out
}

func asIs(text string) (string, error) { return text, nil }

func number[T uint32 | int | int64](v T) (a, b uint64, err error) { return uint64(v), 0, nil }

// parseUID takes a number or a user name.
func parseUID(s string) (uint32, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(n), nil
	}
	u, err := user.Lookup(s)
	if err != nil {
		return 0, fmt.Errorf("uid %q is neither a number nor a known user", s)
	}
	n, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("user %q has uid %q, not a number", s, u.Uid)
	}
	return uint32(n), nil
}

func checkComm(c string) error {
	if c == "" || len(c) > 15 || !utf8.ValidString(c) {
		return fmt.Errorf("%q is not a command name (1 to 15 bytes, as in /proc/PID/comm)", c)
	}
	return nil
}

// commBytes is a command name as the kernel's 16 bytes of comm.
func commBytes(comm string) (a, b uint64, err error) {
	var buf [16]byte
	copy(buf[:], comm)
	return binary.NativeEndian.Uint64(buf[:8]), binary.NativeEndian.Uint64(buf[8:]), nil
}

func parsePID(text string) (int, error) {
	pid, err := strconv.Atoi(text)
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%q is not a process id (use a positive number)", text)
	}
	return pid, nil
}

func positivePID(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("%d is not a process id (use a positive number)", pid)
	}
	return nil
}

func runningPID(pid int) error {
	if err := positivePID(pid); err != nil {
		return err
	}
	if !processExists(pid) {
		return fmt.Errorf("no process %d (check the pid with ps)", pid)
	}
	return nil
}

// routesOnly: what a call reaches is known on the routes to another
// process's memory only.
func routesOnly(syscalls []Syscall) error {
	for _, s := range syscalls {
		if s.Generic() {
			return fmt.Errorf("target keys apply to the routes to another process (ptrace, process_vm_readv...), "+
				"not to %s, which the generic route judges (put it in a rule of its own)", s)
		}
	}
	return nil
}

func ptraceAlone(syscalls []Syscall) error {
	if len(syscalls) != 1 || syscalls[0] != SyscallPtrace {
		return errors.New("ptrace requests only apply to a rule that guards ptrace alone (put the other syscalls in a rule of their own)")
	}
	return nil
}
