package syscalls

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxErrno is the highest errno Linux defines on x86-64 (EHWPOISON).
const maxErrno = 133

// errnoAliases are second names for the same number. x/sys names 95
// ENOTSUP, glibc's alias; the kernel's code and headers say EOPNOTSUPP, so
// ErrnoName does too.
var errnoAliases = map[string]int{
	"EWOULDBLOCK": int(unix.EWOULDBLOCK),
	"EDEADLOCK":   int(unix.EDEADLOCK),
	"ENOTSUP":     int(unix.ENOTSUP),
	"EOPNOTSUPP":  int(unix.EOPNOTSUPP),
}

var errnoByName = func() map[string]int {
	m := make(map[string]int, maxErrno)
	for n := 1; n <= maxErrno; n++ {
		if name := unix.ErrnoName(syscall.Errno(n)); name != "" {
			m[name] = n
		}
	}
	for alias, n := range errnoAliases {
		m[alias] = n
	}
	return m
}()

// ParseErrno reads an errno as its name ("EACCES", any case) or its
// number ("13", 1..133).
func ParseErrno(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > maxErrno {
			return 0, fmt.Errorf("errno %d is out of range: Linux errnos are 1..%d", n, maxErrno)
		}
		return n, nil
	}
	if n, ok := errnoByName[strings.ToUpper(s)]; ok {
		return n, nil
	}
	names := make([]string, 0, len(errnoByName))
	for name := range errnoByName {
		names = append(names, name)
	}
	return 0, fmt.Errorf("unknown errno %q: give a name like EPERM or EACCES, or a number 1..%d%s",
		s, maxErrno, didYouMean(suggest(strings.ToUpper(s), names)))
}

// ErrnoName is the name of errno n ("EACCES"), or "errno-N" for a number
// Linux does not define (41 and 58 are unused, too).
func ErrnoName(n int) string {
	if n == int(unix.EOPNOTSUPP) {
		return "EOPNOTSUPP"
	}
	if n >= 1 && n <= maxErrno {
		if name := unix.ErrnoName(syscall.Errno(n)); name != "" {
			return name
		}
	}
	return "errno-" + strconv.Itoa(n)
}
