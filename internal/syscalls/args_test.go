package syscalls

import (
	"testing"
)

func TestClassify(t *testing.T) {
	for ctype, want := range map[string]struct {
		bits            int
		signed, pointer bool
	}{
		"int":                           {32, true, false},
		"const int":                     {32, true, false},
		"unsigned int":                  {32, false, false},
		"unsigned":                      {32, false, false},
		"uid_t":                         {32, false, false},
		"gid_t":                         {32, false, false},
		"qid_t":                         {32, false, false},
		"pid_t":                         {32, true, false},
		"key_serial_t":                  {32, true, false},
		"const clockid_t":               {32, true, false},
		"timer_t":                       {32, true, false},
		"mqd_t":                         {32, true, false},
		"rwf_t":                         {32, true, false},
		"key_t":                         {32, true, false},
		"__s32":                         {32, true, false},
		"const __u32":                   {32, false, false},
		"u32":                           {32, false, false},
		"umode_t":                       {16, false, false},
		"u16":                           {16, false, false},
		"u8":                            {8, false, false},
		"long":                          {64, true, false},
		"unsigned long":                 {64, false, false},
		"size_t":                        {64, false, false},
		"const size_t":                  {64, false, false},
		"loff_t":                        {64, true, false},
		"off_t":                         {64, true, false},
		"__u64":                         {64, false, false},
		"aio_context_t":                 {64, false, false},
		"const enum landlock_rule_type": {32, false, false},
		"cap_user_header_t":             {64, false, true},
		"const cap_user_data_t":         {64, false, true},
		"const char *":                  {64, false, true},
		"const void *const":             {64, false, true},
		"aio_context_t *":               {64, false, true},
		"struct iocb * *":               {64, false, true},
	} {
		w, pointer, known := classify(ctype)
		if !known || w.bits != want.bits || w.signed != want.signed || pointer != want.pointer {
			t.Errorf("classify(%q) = %d bits, signed %v, pointer %v, known %v; want %+v",
				ctype, w.bits, w.signed, pointer, known, want)
		}
	}
	if w, pointer, known := classify("struct foo"); known || w.bits != 64 || w.signed || pointer {
		t.Errorf("classify(unknown) = %+v, %v, %v; want 64-bit unsigned, not known", w, pointer, known)
	}
}

func TestArgValue(t *testing.T) {
	for _, c := range []struct {
		a         Arg
		reg, want uint64
	}{
		{Arg{Bits: 64}, 0xffff_ffff_0000_0001, 0xffff_ffff_0000_0001},
		{Arg{Bits: 64, Signed: true}, 0xffff_ffff_ffff_ff9c, 0xffff_ffff_ffff_ff9c},
		{Arg{Bits: 32}, 0xdead_beef_0000_0001, 1},
		{Arg{Bits: 32, Signed: true}, 0x0000_0000_ffff_ff9c, 0xffff_ffff_ffff_ff9c}, // AT_FDCWD passed zero-extended
		{Arg{Bits: 32, Signed: true}, 0x1234_5678_0000_0010, 0x10},
		{Arg{Bits: 16}, 0xffff_ffff_ffff_81a4, 0x81a4},
		{Arg{Bits: 8, Signed: true}, 0x80, 0xffff_ffff_ffff_ff80},
		{Arg{Bits: 8}, 0x1ff, 0xff},
	} {
		if got := c.a.Value(c.reg); got != c.want {
			t.Errorf("%+v.Value(%#x) = %#x; want %#x", c.a, c.reg, got, c.want)
		}
	}
	if v, _ := ParseValue("AT_FDCWD"); (Arg{Bits: 32, Signed: true}).Value(0xffff_ff9c) != v {
		t.Error("AT_FDCWD in a 32-bit register does not match ParseValue(AT_FDCWD)")
	}
}

func TestSyscallArg(t *testing.T) {
	unshare := Syscall{Name: "unshare", Args: []Arg{{Name: "unshare_flags", Index: 0}}}
	addKey := Syscall{Name: "add_key", Args: []Arg{
		{Name: "_type", Index: 0}, {Name: "_description", Index: 1}, {Name: "_payload", Index: 2},
		{Name: "plen", Index: 3}, {Name: "ringid", Index: 4},
	}}
	fanotify := Syscall{Name: "fanotify_mark", Args: []Arg{
		{Name: "fanotify_fd", Index: 0}, {Name: "flags", Index: 1}, {Name: "mask", Index: 2},
		{Name: "dfd", Index: 3}, {Name: "pathname", Index: 4},
	}}
	// Two arguments that would shorten to the same name: neither does.
	ambiguous := Syscall{Name: "timer_x", Args: []Arg{{Name: "timer_id", Index: 0}, {Name: "_id", Index: 1}}}
	// An exact name wins over another argument's short name.
	shadow := Syscall{Name: "clone", Args: []Arg{{Name: "clone_flags", Index: 0}, {Name: "flags", Index: 1}}}

	for _, c := range []struct {
		s     Syscall
		name  string
		index int
	}{
		{unshare, "unshare_flags", 0},
		{unshare, "flags", 0},
		{unshare, "arg0", 0},
		{addKey, "type", 0},
		{addKey, "_payload", 2},
		{addKey, "payload", 2},
		{addKey, "ringid", 4},
		{addKey, "arg4", 4},
		{fanotify, "fd", 0},
		{fanotify, "flags", 1},
		{ambiguous, "timer_id", 0},
		{ambiguous, "_id", 1},
		{shadow, "flags", 1},
		{shadow, "clone_flags", 0},
	} {
		a, err := c.s.Arg(c.name)
		if err != nil || a.Index != c.index {
			t.Errorf("%s.Arg(%q) = %+v, %v; want index %d", c.s.Name, c.name, a, err, c.index)
		}
	}

	for _, c := range []struct {
		s    Syscall
		name string
		want string
	}{
		{unshare, "flag", `unshare has no argument "flag" (its arguments: unshare_flags (or flags))`},
		{unshare, "arg1", `unshare has no argument "arg1" (its arguments: unshare_flags (or flags))`},
		{unshare, "arg", `unshare has no argument "arg" (its arguments: unshare_flags (or flags))`},
		{ambiguous, "id", `timer_x has no argument "id" (its arguments: timer_id, _id)`},
		{addKey, "description_", `add_key has no argument "description_" (its arguments: _type (or type), _description (or description), _payload (or payload), plen, ringid)`},
		{Syscall{Name: "getpid"}, "pid", `getpid has no argument "pid" (it takes no arguments)`},
	} {
		_, err := c.s.Arg(c.name)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s.Arg(%q) error = %v; want %s", c.s.Name, c.name, err, c.want)
		}
	}
}
