package syscalls

import (
	"strings"
	"testing"
)

func TestParseErrno(t *testing.T) {
	for s, want := range map[string]int{
		"EACCES": 13, "eacces": 13, "13": 13, "EPERM": 1, "1": 1, "ENOSYS": 38,
		"EAGAIN": 11, "EWOULDBLOCK": 11, "EDEADLK": 35, "EDEADLOCK": 35, "ENOTSUP": 95, "EOPNOTSUPP": 95,
		"EHWPOISON": 133, "133": 133,
	} {
		got, err := ParseErrno(s)
		if err != nil || got != want {
			t.Errorf("ParseErrno(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for s, wantErr := range map[string]string{
		"EACCESS": `unknown errno "EACCESS": give a name like EPERM or EACCES, or a number 1..133; did you mean EACCES?`,
		"0":       "errno 0 is out of range: Linux errnos are 1..133",
		"134":     "errno 134 is out of range",
		"-13":     "errno -13 is out of range",
		"":        `unknown errno ""`,
	} {
		_, err := ParseErrno(s)
		if err == nil || !strings.HasPrefix(err.Error(), wantErr) {
			t.Errorf("ParseErrno(%q) error = %v; want prefix %q", s, err, wantErr)
		}
	}
}

func TestErrnoName(t *testing.T) {
	for n, want := range map[int]string{
		1: "EPERM", 13: "EACCES", 11: "EAGAIN", 38: "ENOSYS", 95: "EOPNOTSUPP", 133: "EHWPOISON",
		0: "errno-0", 134: "errno-134", -1: "errno--1",
	} {
		if got := ErrnoName(n); got != want {
			t.Errorf("ErrnoName(%d) = %q; want %q", n, got, want)
		}
	}
	for n := 1; n <= maxErrno; n++ {
		name := ErrnoName(n)
		if strings.HasPrefix(name, "errno-") {
			if n != 41 && n != 58 {
				t.Errorf("ErrnoName(%d) = %q", n, name)
			}
			continue
		}
		if back, err := ParseErrno(name); err != nil || back != n {
			t.Errorf("ParseErrno(ErrnoName(%d) = %q) = %d, %v", n, name, back, err)
		}
	}
}
