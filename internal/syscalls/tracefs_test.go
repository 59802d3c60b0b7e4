package syscalls

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadTestdata(t *testing.T) {
	tab, err := Load("testdata/tracefs")
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"add_key", "clock_nanosleep", "getpid", "init_module", "openat", "ptrace", "read", "stat", "unlinkat", "unshare"}
	if got := tab.Names(); !reflect.DeepEqual(got, wantNames) {
		t.Errorf("Names() = %v; want %v", got, wantNames)
	}
	for _, name := range []string{"not_a_syscall", "newstat", "finit_module", "sys_enter_read"} {
		if _, ok := tab.Lookup(name); ok {
			t.Errorf("Lookup(%q) found it", name)
		}
	}

	want := map[string]Syscall{
		// Newer kernels (7.x) follow the arguments with copies of the
		// strings they point to (__data_loc fields): not arguments.
		"unlinkat": {Name: "unlinkat", Number: 263, Tracepoint: "unlinkat", Args: []Arg{
			{Name: "dfd", Type: "int", Index: 0, Bits: 32, Signed: true},
			{Name: "pathname", Type: "const char *", Index: 1, Bits: 64, Pointer: true},
			{Name: "flag", Type: "int", Index: 2, Bits: 32, Signed: true},
		}},
		"unshare": {Name: "unshare", Number: 272, Tracepoint: "unshare", Args: []Arg{
			{Name: "unshare_flags", Type: "unsigned long", Index: 0, Bits: 64},
		}},
		"openat": {Name: "openat", Number: 257, Tracepoint: "openat", Args: []Arg{
			{Name: "dfd", Type: "int", Index: 0, Bits: 32, Signed: true},
			{Name: "filename", Type: "const char *", Index: 1, Bits: 64, Pointer: true},
			{Name: "flags", Type: "int", Index: 2, Bits: 32, Signed: true},
			{Name: "mode", Type: "umode_t", Index: 3, Bits: 16},
		}},
		"read": {Name: "read", Number: 0, Tracepoint: "read", Args: []Arg{
			{Name: "fd", Type: "unsigned int", Index: 0, Bits: 32},
			{Name: "buf", Type: "char *", Index: 1, Bits: 64, Pointer: true},
			{Name: "count", Type: "size_t", Index: 2, Bits: 64},
		}},
		"clock_nanosleep": {Name: "clock_nanosleep", Number: 230, Tracepoint: "clock_nanosleep", Args: []Arg{
			{Name: "which_clock", Type: "const clockid_t", Index: 0, Bits: 32, Signed: true},
			{Name: "flags", Type: "int", Index: 1, Bits: 32, Signed: true},
			{Name: "rqtp", Type: "const struct __kernel_timespec *", Index: 2, Bits: 64, Pointer: true},
			{Name: "rmtp", Type: "struct __kernel_timespec *", Index: 3, Bits: 64, Pointer: true},
		}},
		"init_module": {Name: "init_module", Number: 175, Tracepoint: "init_module", Args: []Arg{
			{Name: "umod", Type: "void *", Index: 0, Bits: 64, Pointer: true},
			{Name: "len", Type: "unsigned long", Index: 1, Bits: 64},
			{Name: "uargs", Type: "const char *", Index: 2, Bits: 64, Pointer: true},
		}},
		"ptrace": {Name: "ptrace", Number: 101, Tracepoint: "ptrace", Args: []Arg{
			{Name: "request", Type: "long", Index: 0, Bits: 64, Signed: true},
			{Name: "pid", Type: "long", Index: 1, Bits: 64, Signed: true},
			{Name: "addr", Type: "unsigned long", Index: 2, Bits: 64},
			{Name: "data", Type: "unsigned long", Index: 3, Bits: 64},
		}},
		"stat": {Name: "stat", Number: 4, Tracepoint: "newstat", Args: []Arg{
			{Name: "filename", Type: "const char *", Index: 0, Bits: 64, Pointer: true},
			{Name: "statbuf", Type: "struct stat *", Index: 1, Bits: 64, Pointer: true},
		}},
		"getpid": {Name: "getpid", Number: 39, Tracepoint: "getpid"},
	}
	for name, w := range want {
		got, ok := tab.Lookup(name)
		if !ok {
			t.Errorf("Lookup(%q) not found", name)
			continue
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("Lookup(%q) =\n%+v\nwant\n%+v", name, got, w)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := Load(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "cannot read the kernel's syscall tracepoints in") ||
		!strings.Contains(err.Error(), "CONFIG_FTRACE_SYSCALLS") {
		t.Errorf("Load(empty dir) error = %v", err)
	}

	dir := t.TempDir()
	sys := filepath.Join(dir, "events", "syscalls")
	if err := os.MkdirAll(sys, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = Load(dir)
	if err == nil || !strings.Contains(err.Error(), "no sys_enter_* tracepoints") {
		t.Errorf("Load(no tracepoints) error = %v", err)
	}

	bad := filepath.Join(sys, "sys_enter_read")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	format := "format:\n\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:int fd;\toffset:20;\tsize:8;\tsigned:0;\n"
	if err := os.WriteFile(filepath.Join(bad, "format"), []byte(format), 0o644); err != nil {
		t.Fatal(err)
	}
	// A field off the argument slots ends the arguments: read has none.
	tab, err := Load(dir)
	if err != nil {
		t.Fatalf("Load(a field off the slots): %v", err)
	}
	if read, ok := tab.Lookup("read"); !ok || len(read.Args) != 0 {
		t.Errorf("read's arguments: %+v, want none", read.Args)
	}
	format = "format:\n\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:int fd;\toffset:zz;\tsize:8;\tsigned:0;\n"
	if err := os.WriteFile(filepath.Join(bad, "format"), []byte(format), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err = Load(dir); err == nil || !strings.Contains(err.Error(), "no offset or size") {
		t.Errorf("Load(bad offset) error = %v", err)
	}
}

func TestSplitDecl(t *testing.T) {
	for decl, want := range map[string][2]string{
		"const char * filename":       {"const char *", "filename"},
		"int dfd":                     {"int", "dfd"},
		"const void *const rule_attr": {"const void *const", "rule_attr"},
		"const char *const * argv":    {"const char *const *", "argv"},
		"char *buf":                   {"char *", "buf"},
		"const struct landlock_ruleset_attr *const attr": {"const struct landlock_ruleset_attr *const", "attr"},
	} {
		ctype, name, err := splitDecl(decl)
		if err != nil || ctype != want[0] || name != want[1] {
			t.Errorf("splitDecl(%q) = %q, %q, %v; want %q, %q", decl, ctype, name, err, want[0], want[1])
		}
	}
	for _, decl := range []string{"", "int", "int *"} {
		if _, _, err := splitDecl(decl); err == nil {
			t.Errorf("splitDecl(%q) succeeded", decl)
		}
	}
}

func TestSuggestTable(t *testing.T) {
	tab, err := Load("testdata/tracefs")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{
		"unshar":  {"unshare"},
		"newstat": {"stat"},
		"opnat":   {"openat"},
		"xyzzy":   {},
	} {
		if got := tab.Suggest(name); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("Suggest(%q) = %v; want %v", name, got, want)
		}
	}
}

// TestLoadRunningKernel reads this machine's tracepoints: every argument
// type must be one the width table knows, and the syscalls the package
// documents must look as described.
func TestLoadRunningKernel(t *testing.T) {
	dir := DefaultTracefs()
	if dir == "" {
		t.Skip("no readable tracefs with syscall tracepoints")
	}
	if _, err := os.ReadDir(filepath.Join(dir, "events", "syscalls")); err != nil {
		t.Skipf("tracefs unreadable: %v", err)
	}
	tab, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := tab.Names()
	if len(names) < 300 {
		t.Fatalf("only %d syscalls loaded", len(names))
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "events", "syscalls"))
	tracepoints := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "sys_enter_") {
			tracepoints++
		}
	}
	if len(names) != tracepoints {
		t.Errorf("%d tracepoints but %d syscalls loaded: a tracepoint has no number (add it to tracepointNames)", tracepoints, len(names))
	}
	for _, name := range names {
		s, _ := tab.Lookup(name)
		for _, a := range s.Args {
			if _, _, known := classify(a.Type); !known {
				t.Errorf("%s: argument %s has type %q, not in the width table", name, a.Name, a.Type)
			}
			if a.Index < 0 || a.Index > 5 {
				t.Errorf("%s: argument %s at index %d", name, a.Name, a.Index)
			}
		}
	}
	u, ok := tab.Lookup("unshare")
	if !ok {
		t.Fatal("no unshare")
	}
	if a, err := u.Arg("flags"); err != nil || a.Name != "unshare_flags" || a.Bits != 64 {
		t.Errorf("unshare.Arg(flags) = %+v, %v", a, err)
	}
	if u, ok := tab.Lookup("umount2"); !ok || u.Tracepoint != "umount" || u.Number != 166 {
		t.Errorf("Lookup(umount2) = %+v, %v", u, ok)
	}
}
