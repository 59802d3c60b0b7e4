package syscalls

import (
	"strings"
	"testing"
)

func TestParseValue(t *testing.T) {
	for s, want := range map[string]uint64{
		"0":                              0,
		"42":                             42,
		"0x4206":                         0x4206,
		"0X2a":                           42,
		"18446744073709551615":           1<<64 - 1,
		"0xffffffffffffffff":             1<<64 - 1,
		"-1":                             1<<64 - 1,
		"-100":                           0xffff_ffff_ffff_ff9c,
		"-9223372036854775808":           1 << 63,
		"CLONE_NEWUSER":                  0x10000000,
		"CLONE_NEWNS":                    0x20000,
		"CLONE_NEWPID":                   0x20000000,
		"CLONE_NEWNET":                   0x40000000,
		"CLONE_NEWUTS":                   0x4000000,
		"CLONE_NEWIPC":                   0x8000000,
		"CLONE_NEWCGROUP":                0x2000000,
		"CLONE_NEWTIME":                  0x80,
		"CLONE_INTO_CGROUP":              0x200000000,
		"O_WRONLY":                       1,
		"O_CREAT":                        0x40,
		"O_TMPFILE":                      0x410000,
		"PROT_EXEC":                      4,
		"MAP_ANONYMOUS":                  0x20,
		"MAP_FIXED":                      0x10,
		"MS_BIND":                        0x1000,
		"MS_REMOUNT":                     0x20,
		"MNT_DETACH":                     2,
		"UMOUNT_NOFOLLOW":                8,
		"AT_FDCWD":                       0xffff_ffff_ffff_ff9c,
		"AT_EMPTY_PATH":                  0x1000,
		"AT_SYMLINK_NOFOLLOW":            0x100,
		"MODULE_INIT_IGNORE_MODVERSIONS": 1,
		"MODULE_INIT_IGNORE_VERMAGIC":    2,
		"MODULE_INIT_COMPRESSED_FILE":    4,
		"PTRACE_TRACEME":                 0,
		"PTRACE_PEEKDATA":                2,
		"PTRACE_POKEDATA":                5,
		"PTRACE_ATTACH":                  16,
		"PTRACE_SEIZE":                   0x4206,
		"CLOCK_REALTIME":                 0,
		"CLOCK_TAI":                      11,
		"TIMER_ABSTIME":                  1,
	} {
		got, err := ParseValue(s)
		if err != nil || got != want {
			t.Errorf("ParseValue(%q) = %#x, %v; want %#x", s, got, err, want)
		}
	}
	for s, wantErr := range map[string]string{
		"clone_newuser":        `unknown value "clone_newuser": constant names are upper case; did you mean CLONE_NEWUSER?`,
		"CLONE_NEWUSR":         "did you mean one of CLONE_NEWUSER, CLONE_NEWUTS, CLONE_NEWNS?",
		"PTRACE_ATACH":         "did you mean one of PTRACE_ATTACH, PTRACE_DETACH, CLONE_PTRACE, CLONE_UNTRACED, MNT_DETACH?",
		"FOO":                  `unknown value "FOO": give a number (42, 0x2a, -100) or a known constant such as CLONE_NEWUSER`,
		"":                     "empty value",
		"0x":                   `invalid number "0x"`,
		"0xg":                  `invalid number "0xg"`,
		"12abc":                `invalid number "12abc"`,
		"1_000":                `invalid number "1_000"`,
		"18446744073709551616": "fits in 64 bits",
		"--1":                  `invalid number "--1"`,
		"-0x10":                "a negative value must be a decimal",
		"-9223372036854775809": "a negative value must be a decimal",
		"O_LARGEFILE":          "unknown value",
		"SIGKILL":              "unknown value",
	} {
		_, err := ParseValue(s)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ParseValue(%q) error = %v; want it to contain %q", s, err, wantErr)
		}
	}
}

func TestSymbols(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Symbols {
		if seen[s.Name] {
			t.Errorf("%s listed twice", s.Name)
		}
		seen[s.Name] = true
		if s.Name != strings.ToUpper(s.Name) {
			t.Errorf("%s is not upper case", s.Name)
		}
		if s.Group == "" || (!strings.HasPrefix(s.Name, s.Group+"_") && s.Name != "UMOUNT_NOFOLLOW") {
			t.Errorf("%s is in group %q", s.Name, s.Group)
		}
		if strings.HasPrefix(s.Name, "PTRACE_O_") || strings.HasPrefix(s.Name, "PTRACE_EVENT") {
			t.Errorf("%s is not a ptrace request", s.Name)
		}
	}
}
