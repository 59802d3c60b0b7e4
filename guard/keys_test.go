package guard

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sigguard/sigguard/internal/bpf"
)

// Every field of Matchers is the list of exactly one key, and every key
// the kernel side compares is exactly one row.
func TestMatchKeysCoverMatchersAndKernel(t *testing.T) {
	fields := reflect.TypeFor[Matchers]()
	for i := range fields.NumField() {
		var m Matchers
		f := reflect.ValueOf(&m).Elem().Field(i)
		f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		var keys []string
		for _, k := range matchKeys {
			if k.values.count(m) > 0 {
				keys = append(keys, k.name)
			}
		}
		if len(keys) != 1 {
			t.Errorf("Matchers.%s is the list of %d keys %v, want 1 (add a row to matchKeys)", fields.Field(i).Name, len(keys), keys)
		}
		if m.empty() {
			t.Errorf("Matchers.%s listed counts as empty", fields.Field(i).Name)
		}
	}
	if len(matchKeys) != fields.NumField() {
		t.Errorf("%d keys for %d fields of Matchers", len(matchKeys), fields.NumField())
	}
	rows := map[bpf.GuardMatchKey][]string{}
	names := map[string]bool{}
	for _, k := range matchKeys {
		rows[k.kernel] = append(rows[k.kernel], k.name)
		if names[k.name] {
			t.Errorf("two keys are named %s", k.name)
		}
		names[k.name] = true
		if k.holds == "" || k.notes == "" {
			t.Errorf("%s: no docs (holds, notes)", k.name)
		}
	}
	for key := range bpf.GuardMatchKeySG_KEY_MAX {
		if len(rows[key]) != 1 {
			t.Errorf("kernel key %d is the key of %v, want one row", key, rows[key])
		}
	}
	if len(rows) != int(bpf.GuardMatchKeySG_KEY_MAX) {
		t.Errorf("rows name %d kernel keys, the kernel side has %d", len(rows), bpf.GuardMatchKeySG_KEY_MAX)
	}
}

// keyNamed is the row of the key a policy calls name.
func keyNamed(t *testing.T, name string) MatchKey {
	t.Helper()
	for _, k := range MatchKeys() {
		if k.Name() == name {
			return k
		}
	}
	t.Fatalf("no key %s", name)
	return MatchKey{}
}

// The exported settings are the keys' own.
func TestMatchKeySettings(t *testing.T) {
	for name, want := range map[string]Setting{
		"uid": SettingUID, "comm": SettingComm, "exe": SettingExe, "ppid": SettingParentPID, "ancestor": SettingAncestor,
		"cgroup": SettingCgroup, "request": SettingRequest, "target.pid": SettingTargetPID, "target.exe": SettingTargetExe,
		"target.cgroup": SettingTargetCg,
	} {
		if got := keyNamed(t, name).Setting(); got != want {
			t.Errorf("%s: setting %q, want %q", name, got, want)
		}
	}
}

// A value read as a policy writes it shows in the rule's description.
func TestMatchKeysAdd(t *testing.T) {
	var m Matchers
	for _, tc := range []struct{ key, value, err string }{
		{"uid", "root", ""},
		{"uid", "7", ""},
		{"uid", "nosuchuserhere", `uid "nosuchuserhere" is neither a number nor a known user`},
		{"comm", "gdb", ""},
		{"exe", "/bin/x", ""},
		{"ppid", "1", ""},
		{"ppid", "-3", `"-3" is not a process id (use a positive number)`},
		{"ancestor", "x", `"x" is not a process id (use a positive number)`},
		{"cgroup", "/a", ""},
		{"request", "seize", ""},
		{"request", "FROB", `unknown ptrace request "FROB"`},
		{"target.pid", "4242", ""},
		{"target.exe", "/bin/y", ""},
		{"target.cgroup", "/b", ""},
	} {
		err := keyNamed(t, tc.key).Add(&m, tc.value)
		if (err == nil) != (tc.err == "") || err != nil && !strings.HasPrefix(err.Error(), tc.err) {
			t.Errorf("%s %q: error %v, want %q", tc.key, tc.value, err, tc.err)
		}
	}
	want := "uid 0|7 and comm gdb and exe /bin/x and ppid 1 and cgroup /a and request PTRACE_SEIZE and " +
		"target pid 4242 and target exe /bin/y and target cgroup /b"
	if got := m.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
