package syscalls

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Syscall is a syscall the running kernel can trace: it has both a number
// in the x86-64 table and a sys_enter tracepoint.
type Syscall struct {
	Name       string // as in syscall_64.tbl ("stat", "umount2")
	Number     int    // x86-64 syscall number
	Tracepoint string // the tracepoint's name without "sys_enter_" ("newstat", "umount")
	Args       []Arg  // in register order
}

// Table is the set of syscalls the running kernel has tracepoints for.
type Table struct {
	byName map[string]Syscall
	names  []string
}

// tracepointNames maps the syscalls whose entry point, and so whose
// tracepoint, is named differently from the syscall: syscall_64.tbl points
// "stat" at sys_newstat, "umount2" at sys_umount, and so on. The tracepoint
// takes the SYSCALL_DEFINE name.
var tracepointNames = map[string]string{
	"fstat":    "newfstat",
	"lstat":    "newlstat",
	"stat":     "newstat",
	"uname":    "newuname",
	"sendfile": "sendfile64",
	"umount2":  "umount",
}

// DefaultTracefs is the first of /sys/kernel/tracing and
// /sys/kernel/debug/tracing that has syscall tracepoints, or "" if neither
// has (tracefs not mounted, not readable, or a kernel without
// CONFIG_FTRACE_SYSCALLS).
func DefaultTracefs() string {
	for _, dir := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
		if fi, err := os.Stat(filepath.Join(dir, "events", "syscalls")); err == nil && fi.IsDir() {
			return dir
		}
	}
	return ""
}

// Load reads the arguments of every syscall tracepoint from
// <tracefs>/events/syscalls/sys_enter_*/format. tracefs "" means
// DefaultTracefs(). Tracepoints of syscalls that have no x86-64 number are
// left out, as are numbers without a tracepoint: the kernel only creates
// tracepoints for the syscalls it was built with (no init_module without
// CONFIG_MODULES, for example).
func Load(tracefs string) (*Table, error) {
	if tracefs == "" {
		tracefs = DefaultTracefs()
		if tracefs == "" {
			return nil, errors.New("no syscall tracepoints in /sys/kernel/tracing or /sys/kernel/debug/tracing " +
				"(run as root; mount tracefs with mount -t tracefs nodev /sys/kernel/tracing; the kernel needs CONFIG_FTRACE_SYSCALLS)")
		}
	}
	dir := filepath.Join(tracefs, "events", "syscalls")
	hint := "(run as root; the kernel needs CONFIG_FTRACE_SYSCALLS)"
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot read the kernel's syscall tracepoints in %s: %w %s", dir, err, hint)
	}
	byTracepoint := make(map[string]string, len(tracepointNames))
	for name, tp := range tracepointNames {
		byTracepoint[tp] = name
	}
	t := &Table{byName: make(map[string]Syscall)}
	found := 0
	for _, e := range entries {
		tp, ok := strings.CutPrefix(e.Name(), "sys_enter_")
		if !ok || !e.IsDir() {
			continue
		}
		found++
		name := tp
		if n, ok := byTracepoint[tp]; ok {
			name = n
		}
		nr, ok := Number(name)
		if !ok {
			continue
		}
		path := filepath.Join(dir, e.Name(), "format")
		args, err := readFormat(path)
		if err != nil {
			return nil, fmt.Errorf("cannot read the kernel's syscall tracepoints in %s: %w %s", dir, err, hint)
		}
		t.byName[name] = Syscall{Name: name, Number: nr, Tracepoint: tp, Args: args}
		t.names = append(t.names, name)
	}
	if found == 0 {
		return nil, fmt.Errorf("cannot read the kernel's syscall tracepoints in %s: no sys_enter_* tracepoints %s", dir, hint)
	}
	sort.Strings(t.names)
	return t, nil
}

// readFormat parses a sys_enter tracepoint's format file. The fields after
// __syscall_nr are the arguments, one 8-byte slot each from offset 16, so
// the slot gives the register: index = (offset-16)/8. The file's size (8)
// and signed (0) are the same for every argument and say nothing; the
// declared type does.
func readFormat(path string) ([]Arg, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var args []Arg
	inArgs, sawNr := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		decl, ok := strings.CutPrefix(line, "field:")
		if !ok {
			continue
		}
		parts := strings.Split(decl, ";")
		if len(parts) < 2 {
			return nil, fmt.Errorf("%s: unexpected field line %q", path, line)
		}
		ctype, name, err := splitDecl(parts[0])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if name == "__syscall_nr" {
			inArgs, sawNr = true, true
			continue
		}
		if !inArgs {
			continue
		}
		off, size, err := fieldPlace(parts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w in %q", path, err, line)
		}
		// The arguments fill the 8-byte slots from offset 16 on, in
		// order. Newer kernels follow them with fields of their own (the
		// user-space strings an argument points to, as __data_loc
		// fields): the first field that is not the next slot ends the
		// arguments.
		if !inArgs || len(args) == 6 || off != 16+8*len(args) || size != 8 {
			inArgs = false
			continue
		}
		args = append(args, newArg(name, ctype, len(args)))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !sawNr {
		return nil, fmt.Errorf("%s: no __syscall_nr field; not a sys_enter format", path)
	}
	sort.Slice(args, func(i, j int) bool { return args[i].Index < args[j].Index })
	return args, nil
}

// splitDecl splits "const char * filename" into its type and name.
func splitDecl(decl string) (ctype, name string, err error) {
	decl = strings.TrimSpace(decl)
	i := strings.LastIndexAny(decl, " *")
	if i <= 0 || i == len(decl)-1 {
		return "", "", fmt.Errorf("cannot split field %q into a type and a name", decl)
	}
	return strings.TrimSpace(decl[:i+1]), decl[i+1:], nil
}

// Lookup finds a syscall by its syscall_64.tbl name. Only syscalls with
// both a number and a tracepoint on this kernel are found.
func (t *Table) Lookup(name string) (Syscall, bool) {
	s, ok := t.byName[name]
	return s, ok
}

// Names are the names Lookup finds, sorted.
func (t *Table) Names() []string {
	return append([]string(nil), t.names...)
}

// Suggest offers up to five names Lookup finds that are near name, closest
// first: within edit distance 2, or sharing at least 4 characters in a row.
func (t *Table) Suggest(name string) []string {
	return suggest(name, t.names)
}

// ByTracepoint is the syscall whose sys_enter_/sys_exit_ tracepoint is
// named tp ("newstat" is stat's): its name and number.
func ByTracepoint(tp string) (name string, nr int, ok bool) {
	name = tp
	for n, t := range tracepointNames {
		if t == tp {
			name = n
		}
	}
	nr, ok = Number(name)
	return name, nr, ok
}

// TracepointOf is the name of syscall name's tracepoints, without
// "sys_enter_".
func TracepointOf(name string) string {
	if tp, ok := tracepointNames[name]; ok {
		return tp
	}
	return name
}

// fieldPlace reads a field line's offset and size ("offset:16", "size:8").
func fieldPlace(parts []string) (off, size int, err error) {
	off, size = -1, -1
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(strings.TrimSpace(p), ":")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		switch {
		case k == "offset" && err == nil:
			off = n
		case k == "size" && err == nil:
			size = n
		}
	}
	if off < 0 || size < 0 {
		return 0, 0, fmt.Errorf("no offset or size")
	}
	return off, size, nil
}
