package syscalls

import (
	"fmt"
	"strconv"
	"strings"
)

// Arg is one argument of a syscall as its tracepoint declares it.
//
// Every argument arrives in a full 64-bit register, and the tracepoint
// records all 64 bits, but the kernel's SYSCALL_DEFINE wrapper casts the
// register to the declared C type before the syscall body runs. An "int"
// argument therefore only has 32 meaningful bits: a caller can set the
// upper 32 bits to anything and the kernel ignores them. A check on the raw
// register would then see a different value than the kernel acts on, so
// compare Value(register), not the register.
type Arg struct {
	Name    string // as the tracepoint names it ("unshare_flags")
	Type    string // the C type ("unsigned long", "const char *")
	Index   int    // 0..5: which argument register
	Bits    int    // 64, 32, 16 or 8: the low bits of the register the kernel's syscall body uses (the wrapper casts the register to the declared type)
	Signed  bool   // the declared type is signed: the kernel sign-extends from Bits
	Pointer bool   // a pointer (contains '*'): user memory the caller can change after any check
}

// Value is what the syscall body sees for an argument register holding reg:
// the low Bits of it, sign-extended when the type is signed. The result is
// the 64-bit two's complement, so an int argument of -100 (AT_FDCWD) gives
// the same value as ParseValue("AT_FDCWD").
func (a Arg) Value(reg uint64) uint64 {
	if a.Bits >= 64 || a.Bits <= 0 {
		return reg
	}
	shift := 64 - uint(a.Bits)
	if a.Signed {
		return uint64(int64(reg<<shift) >> shift)
	}
	return reg << shift >> shift
}

type width struct {
	bits   int
	signed bool
}

// scalarTypes gives the width and signedness, on x86-64, of each
// non-pointer type that syscall tracepoints declare. The typedefs resolve
// as in the kernel's uapi headers: uid_t, gid_t and qid_t are unsigned
// 32-bit (__kernel_uid32_t); pid_t, clockid_t, timer_t, mqd_t, key_t,
// key_serial_t and rwf_t are int; umode_t is unsigned short; loff_t is
// long long and off_t, long; aio_context_t is __kernel_ulong_t.
var scalarTypes = map[string]width{
	// 64-bit
	"long": {64, true}, "signed long": {64, true}, "long int": {64, true},
	"long long": {64, true}, "s64": {64, true}, "__s64": {64, true}, "int64_t": {64, true},
	"ssize_t": {64, true}, "loff_t": {64, true}, "off_t": {64, true},
	"__kernel_old_time_t": {64, true}, "time_t": {64, true},
	"unsigned long": {64, false}, "unsigned long int": {64, false}, "unsigned long long": {64, false},
	"u64": {64, false}, "__u64": {64, false}, "uint64_t": {64, false}, "__aligned_u64": {64, false},
	"size_t": {64, false}, "aio_context_t": {64, false},

	// 32-bit
	"int": {32, true}, "signed int": {32, true}, "signed": {32, true},
	"s32": {32, true}, "__s32": {32, true}, "int32_t": {32, true},
	"pid_t": {32, true}, "clockid_t": {32, true}, "timer_t": {32, true}, "mqd_t": {32, true},
	"key_t": {32, true}, "key_serial_t": {32, true}, "rwf_t": {32, true},
	"unsigned int": {32, false}, "unsigned": {32, false},
	"u32": {32, false}, "__u32": {32, false}, "uint32_t": {32, false},
	"uid_t": {32, false}, "gid_t": {32, false}, "qid_t": {32, false},

	// 16-bit
	"short": {16, true}, "s16": {16, true}, "__s16": {16, true}, "int16_t": {16, true},
	"unsigned short": {16, false}, "u16": {16, false}, "__u16": {16, false}, "uint16_t": {16, false},
	"umode_t": {16, false},

	// 8-bit; plain char is signed on x86-64
	"char": {8, true}, "signed char": {8, true}, "s8": {8, true}, "__s8": {8, true}, "int8_t": {8, true},
	"unsigned char": {8, false}, "u8": {8, false}, "__u8": {8, false}, "uint8_t": {8, false},
}

// pointerTypedefs are typedefs of pointer types: their names have no '*'.
var pointerTypedefs = map[string]bool{
	"cap_user_header_t": true,
	"cap_user_data_t":   true,
}

// classify gives the width and signedness of a C type. Qualifiers (const,
// volatile) do not change the width. Enums are 32-bit and unsigned: GCC
// makes an enum without negative enumerators unsigned int, and the enums
// syscalls take have none. A type it does not know is taken as 64-bit
// unsigned, the raw register, and known is false.
func classify(ctype string) (w width, pointer, known bool) {
	t := strings.TrimSpace(ctype)
	if strings.Contains(t, "*") {
		return width{64, false}, true, true
	}
	for _, q := range []string{"const ", "volatile "} {
		for strings.HasPrefix(t, q) {
			t = strings.TrimSpace(strings.TrimPrefix(t, q))
		}
	}
	if pointerTypedefs[t] {
		return width{64, false}, true, true
	}
	if strings.HasPrefix(t, "enum ") {
		return width{32, false}, false, true
	}
	if w, ok := scalarTypes[t]; ok {
		return w, false, true
	}
	return width{64, false}, false, false
}

// newArg describes the argument at index declared as "ctype name".
func newArg(name, ctype string, index int) Arg {
	w, pointer, _ := classify(ctype)
	return Arg{Name: name, Type: ctype, Index: index, Bits: w.bits, Signed: w.signed, Pointer: pointer}
}

// Arg finds an argument of s by name. Besides the exact tracepoint name it
// accepts a shorter one where the kernel decorates the name: a leading
// underscore (add_key's "_type", renamed to dodge a keyword or macro) or a
// prefix from the syscall's own name (unshare's "unshare_flags",
// fanotify_mark's "fanotify_fd", swapon's "swap_flags"), so "flags" finds
// unshare_flags. The short name counts only if no other argument has it.
// "arg0".."arg5" name the argument in that register.
func (s Syscall) Arg(name string) (Arg, error) {
	for _, a := range s.Args {
		if a.Name == name {
			return a, nil
		}
	}
	for _, a := range s.Args {
		if short := s.shortName(a); short != "" && short == name {
			return a, nil
		}
	}
	if rest, ok := strings.CutPrefix(name, "arg"); ok && len(rest) == 1 {
		if i, err := strconv.Atoi(rest); err == nil {
			for _, a := range s.Args {
				if a.Index == i {
					return a, nil
				}
			}
		}
	}
	if len(s.Args) == 0 {
		return Arg{}, fmt.Errorf("%s has no argument %q (it takes no arguments)", s.Name, name)
	}
	var names []string
	for _, a := range s.Args {
		n := a.Name
		if short := s.shortName(a); short != "" {
			n += " (or " + short + ")"
		}
		names = append(names, n)
	}
	return Arg{}, fmt.Errorf("%s has no argument %q (its arguments: %s)", s.Name, name, strings.Join(names, ", "))
}

// shortName is the undecorated name of a, or "" if it has none or the
// name would be ambiguous within s.
func (s Syscall) shortName(a Arg) string {
	short := undecorate(s.Name, a.Name)
	if short == "" {
		return ""
	}
	for _, b := range s.Args {
		if b.Name == a.Name {
			continue
		}
		if b.Name == short || undecorate(s.Name, b.Name) == short {
			return ""
		}
	}
	return short
}

// undecorate strips the decoration from an argument name: a leading
// underscore ("_type" -> "type", "_fs_name" -> "fs_name"), or a first word
// that begins the syscall's name ("unshare_flags" -> "flags",
// "fs_fd" of fsmount -> "fd"). It is "" when there is none.
func undecorate(syscall, arg string) string {
	if rest, ok := strings.CutPrefix(arg, "_"); ok {
		return rest
	}
	prefix, rest, ok := strings.Cut(arg, "_")
	if !ok || prefix == "" || rest == "" || !strings.HasPrefix(syscall, prefix) {
		return ""
	}
	return rest
}
