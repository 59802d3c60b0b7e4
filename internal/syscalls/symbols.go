package syscalls

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Symbol is a named constant a condition can compare an argument with.
type Symbol struct {
	Name  string // upper case, as in the C headers ("CLONE_NEWUSER")
	Value uint64 // negative constants (AT_FDCWD) as 64-bit two's complement
	Group string // the header prefix it belongs to ("CLONE", "O", "AT")
}

// neg stores a negative constant the way a sign-extended argument holds
// it; see Arg.Value.
func neg(v int64) uint64 { return uint64(v) }

// Symbols are the constants ParseValue knows, grouped by the argument they
// describe. Values come from golang.org/x/sys/unix. O_LARGEFILE is left
// out: x/sys (like glibc) defines it as 0 on x86-64, where the kernel's
// own bit is 0x8000, so neither value would mean what a reader expects.
var Symbols = []Symbol{
	// clone, clone3 and unshare flags.
	{"CLONE_VM", unix.CLONE_VM, "CLONE"},
	{"CLONE_FS", unix.CLONE_FS, "CLONE"},
	{"CLONE_FILES", unix.CLONE_FILES, "CLONE"},
	{"CLONE_SIGHAND", unix.CLONE_SIGHAND, "CLONE"},
	{"CLONE_PIDFD", unix.CLONE_PIDFD, "CLONE"},
	{"CLONE_PTRACE", unix.CLONE_PTRACE, "CLONE"},
	{"CLONE_VFORK", unix.CLONE_VFORK, "CLONE"},
	{"CLONE_PARENT", unix.CLONE_PARENT, "CLONE"},
	{"CLONE_THREAD", unix.CLONE_THREAD, "CLONE"},
	{"CLONE_NEWNS", unix.CLONE_NEWNS, "CLONE"},
	{"CLONE_SYSVSEM", unix.CLONE_SYSVSEM, "CLONE"},
	{"CLONE_SETTLS", unix.CLONE_SETTLS, "CLONE"},
	{"CLONE_PARENT_SETTID", unix.CLONE_PARENT_SETTID, "CLONE"},
	{"CLONE_CHILD_CLEARTID", unix.CLONE_CHILD_CLEARTID, "CLONE"},
	{"CLONE_DETACHED", unix.CLONE_DETACHED, "CLONE"},
	{"CLONE_UNTRACED", unix.CLONE_UNTRACED, "CLONE"},
	{"CLONE_CHILD_SETTID", unix.CLONE_CHILD_SETTID, "CLONE"},
	{"CLONE_NEWCGROUP", unix.CLONE_NEWCGROUP, "CLONE"},
	{"CLONE_NEWUTS", unix.CLONE_NEWUTS, "CLONE"},
	{"CLONE_NEWIPC", unix.CLONE_NEWIPC, "CLONE"},
	{"CLONE_NEWUSER", unix.CLONE_NEWUSER, "CLONE"},
	{"CLONE_NEWPID", unix.CLONE_NEWPID, "CLONE"},
	{"CLONE_NEWNET", unix.CLONE_NEWNET, "CLONE"},
	{"CLONE_IO", unix.CLONE_IO, "CLONE"},
	{"CLONE_NEWTIME", unix.CLONE_NEWTIME, "CLONE"},
	{"CLONE_CLEAR_SIGHAND", unix.CLONE_CLEAR_SIGHAND, "CLONE"},
	{"CLONE_INTO_CGROUP", unix.CLONE_INTO_CGROUP, "CLONE"},

	// open and openat flags.
	{"O_RDONLY", unix.O_RDONLY, "O"},
	{"O_WRONLY", unix.O_WRONLY, "O"},
	{"O_RDWR", unix.O_RDWR, "O"},
	{"O_ACCMODE", unix.O_ACCMODE, "O"},
	{"O_CREAT", unix.O_CREAT, "O"},
	{"O_EXCL", unix.O_EXCL, "O"},
	{"O_NOCTTY", unix.O_NOCTTY, "O"},
	{"O_TRUNC", unix.O_TRUNC, "O"},
	{"O_APPEND", unix.O_APPEND, "O"},
	{"O_NONBLOCK", unix.O_NONBLOCK, "O"},
	{"O_NDELAY", unix.O_NDELAY, "O"},
	{"O_DSYNC", unix.O_DSYNC, "O"},
	{"O_SYNC", unix.O_SYNC, "O"},
	{"O_RSYNC", unix.O_RSYNC, "O"},
	{"O_ASYNC", unix.O_ASYNC, "O"},
	{"O_DIRECT", unix.O_DIRECT, "O"},
	{"O_DIRECTORY", unix.O_DIRECTORY, "O"},
	{"O_NOFOLLOW", unix.O_NOFOLLOW, "O"},
	{"O_NOATIME", unix.O_NOATIME, "O"},
	{"O_CLOEXEC", unix.O_CLOEXEC, "O"},
	{"O_PATH", unix.O_PATH, "O"},
	{"O_TMPFILE", unix.O_TMPFILE, "O"},

	// mmap and mprotect protections.
	{"PROT_NONE", unix.PROT_NONE, "PROT"},
	{"PROT_READ", unix.PROT_READ, "PROT"},
	{"PROT_WRITE", unix.PROT_WRITE, "PROT"},
	{"PROT_EXEC", unix.PROT_EXEC, "PROT"},
	{"PROT_GROWSDOWN", unix.PROT_GROWSDOWN, "PROT"},
	{"PROT_GROWSUP", unix.PROT_GROWSUP, "PROT"},

	// mmap flags.
	{"MAP_SHARED", unix.MAP_SHARED, "MAP"},
	{"MAP_PRIVATE", unix.MAP_PRIVATE, "MAP"},
	{"MAP_SHARED_VALIDATE", unix.MAP_SHARED_VALIDATE, "MAP"},
	{"MAP_DROPPABLE", unix.MAP_DROPPABLE, "MAP"},
	{"MAP_TYPE", unix.MAP_TYPE, "MAP"},
	{"MAP_FIXED", unix.MAP_FIXED, "MAP"},
	{"MAP_FIXED_NOREPLACE", unix.MAP_FIXED_NOREPLACE, "MAP"},
	{"MAP_ANONYMOUS", unix.MAP_ANONYMOUS, "MAP"},
	{"MAP_ANON", unix.MAP_ANON, "MAP"},
	{"MAP_32BIT", unix.MAP_32BIT, "MAP"},
	{"MAP_ABOVE4G", unix.MAP_ABOVE4G, "MAP"},
	{"MAP_GROWSDOWN", unix.MAP_GROWSDOWN, "MAP"},
	{"MAP_DENYWRITE", unix.MAP_DENYWRITE, "MAP"},
	{"MAP_EXECUTABLE", unix.MAP_EXECUTABLE, "MAP"},
	{"MAP_LOCKED", unix.MAP_LOCKED, "MAP"},
	{"MAP_NORESERVE", unix.MAP_NORESERVE, "MAP"},
	{"MAP_POPULATE", unix.MAP_POPULATE, "MAP"},
	{"MAP_NONBLOCK", unix.MAP_NONBLOCK, "MAP"},
	{"MAP_STACK", unix.MAP_STACK, "MAP"},
	{"MAP_HUGETLB", unix.MAP_HUGETLB, "MAP"},
	{"MAP_SYNC", unix.MAP_SYNC, "MAP"},

	// mount flags.
	{"MS_RDONLY", unix.MS_RDONLY, "MS"},
	{"MS_NOSUID", unix.MS_NOSUID, "MS"},
	{"MS_NODEV", unix.MS_NODEV, "MS"},
	{"MS_NOEXEC", unix.MS_NOEXEC, "MS"},
	{"MS_SYNCHRONOUS", unix.MS_SYNCHRONOUS, "MS"},
	{"MS_REMOUNT", unix.MS_REMOUNT, "MS"},
	{"MS_MANDLOCK", unix.MS_MANDLOCK, "MS"},
	{"MS_DIRSYNC", unix.MS_DIRSYNC, "MS"},
	{"MS_NOSYMFOLLOW", unix.MS_NOSYMFOLLOW, "MS"},
	{"MS_NOATIME", unix.MS_NOATIME, "MS"},
	{"MS_NODIRATIME", unix.MS_NODIRATIME, "MS"},
	{"MS_BIND", unix.MS_BIND, "MS"},
	{"MS_MOVE", unix.MS_MOVE, "MS"},
	{"MS_REC", unix.MS_REC, "MS"},
	{"MS_SILENT", unix.MS_SILENT, "MS"},
	{"MS_POSIXACL", unix.MS_POSIXACL, "MS"},
	{"MS_UNBINDABLE", unix.MS_UNBINDABLE, "MS"},
	{"MS_PRIVATE", unix.MS_PRIVATE, "MS"},
	{"MS_SLAVE", unix.MS_SLAVE, "MS"},
	{"MS_SHARED", unix.MS_SHARED, "MS"},
	{"MS_RELATIME", unix.MS_RELATIME, "MS"},
	{"MS_I_VERSION", unix.MS_I_VERSION, "MS"},
	{"MS_STRICTATIME", unix.MS_STRICTATIME, "MS"},
	{"MS_LAZYTIME", unix.MS_LAZYTIME, "MS"},

	// umount2 flags.
	{"MNT_FORCE", unix.MNT_FORCE, "MNT"},
	{"MNT_DETACH", unix.MNT_DETACH, "MNT"},
	{"MNT_EXPIRE", unix.MNT_EXPIRE, "MNT"},
	{"UMOUNT_NOFOLLOW", unix.UMOUNT_NOFOLLOW, "MNT"},

	// *at directory fds and flags.
	{"AT_FDCWD", neg(unix.AT_FDCWD), "AT"},
	{"AT_SYMLINK_NOFOLLOW", unix.AT_SYMLINK_NOFOLLOW, "AT"},
	{"AT_SYMLINK_FOLLOW", unix.AT_SYMLINK_FOLLOW, "AT"},
	{"AT_REMOVEDIR", unix.AT_REMOVEDIR, "AT"},
	{"AT_EACCESS", unix.AT_EACCESS, "AT"},
	{"AT_NO_AUTOMOUNT", unix.AT_NO_AUTOMOUNT, "AT"},
	{"AT_EMPTY_PATH", unix.AT_EMPTY_PATH, "AT"},
	{"AT_RECURSIVE", unix.AT_RECURSIVE, "AT"},
	{"AT_STATX_SYNC_AS_STAT", unix.AT_STATX_SYNC_AS_STAT, "AT"},
	{"AT_STATX_FORCE_SYNC", unix.AT_STATX_FORCE_SYNC, "AT"},
	{"AT_STATX_DONT_SYNC", unix.AT_STATX_DONT_SYNC, "AT"},

	// finit_module flags.
	{"MODULE_INIT_IGNORE_MODVERSIONS", unix.MODULE_INIT_IGNORE_MODVERSIONS, "MODULE_INIT"},
	{"MODULE_INIT_IGNORE_VERMAGIC", unix.MODULE_INIT_IGNORE_VERMAGIC, "MODULE_INIT"},
	{"MODULE_INIT_COMPRESSED_FILE", unix.MODULE_INIT_COMPRESSED_FILE, "MODULE_INIT"},

	// ptrace requests (not the PTRACE_O_ options or PTRACE_EVENT_ codes).
	{"PTRACE_TRACEME", unix.PTRACE_TRACEME, "PTRACE"},
	{"PTRACE_PEEKTEXT", unix.PTRACE_PEEKTEXT, "PTRACE"},
	{"PTRACE_PEEKDATA", unix.PTRACE_PEEKDATA, "PTRACE"},
	{"PTRACE_PEEKUSR", unix.PTRACE_PEEKUSR, "PTRACE"},
	{"PTRACE_POKETEXT", unix.PTRACE_POKETEXT, "PTRACE"},
	{"PTRACE_POKEDATA", unix.PTRACE_POKEDATA, "PTRACE"},
	{"PTRACE_POKEUSR", unix.PTRACE_POKEUSR, "PTRACE"},
	{"PTRACE_CONT", unix.PTRACE_CONT, "PTRACE"},
	{"PTRACE_KILL", unix.PTRACE_KILL, "PTRACE"},
	{"PTRACE_SINGLESTEP", unix.PTRACE_SINGLESTEP, "PTRACE"},
	{"PTRACE_GETREGS", unix.PTRACE_GETREGS, "PTRACE"},
	{"PTRACE_SETREGS", unix.PTRACE_SETREGS, "PTRACE"},
	{"PTRACE_GETFPREGS", unix.PTRACE_GETFPREGS, "PTRACE"},
	{"PTRACE_SETFPREGS", unix.PTRACE_SETFPREGS, "PTRACE"},
	{"PTRACE_ATTACH", unix.PTRACE_ATTACH, "PTRACE"},
	{"PTRACE_DETACH", unix.PTRACE_DETACH, "PTRACE"},
	{"PTRACE_GETFPXREGS", unix.PTRACE_GETFPXREGS, "PTRACE"},
	{"PTRACE_SETFPXREGS", unix.PTRACE_SETFPXREGS, "PTRACE"},
	{"PTRACE_OLDSETOPTIONS", unix.PTRACE_OLDSETOPTIONS, "PTRACE"},
	{"PTRACE_SYSCALL", unix.PTRACE_SYSCALL, "PTRACE"},
	{"PTRACE_GET_THREAD_AREA", unix.PTRACE_GET_THREAD_AREA, "PTRACE"},
	{"PTRACE_SET_THREAD_AREA", unix.PTRACE_SET_THREAD_AREA, "PTRACE"},
	{"PTRACE_ARCH_PRCTL", unix.PTRACE_ARCH_PRCTL, "PTRACE"},
	{"PTRACE_SYSEMU", unix.PTRACE_SYSEMU, "PTRACE"},
	{"PTRACE_SYSEMU_SINGLESTEP", unix.PTRACE_SYSEMU_SINGLESTEP, "PTRACE"},
	{"PTRACE_SINGLEBLOCK", unix.PTRACE_SINGLEBLOCK, "PTRACE"},
	{"PTRACE_SETOPTIONS", unix.PTRACE_SETOPTIONS, "PTRACE"},
	{"PTRACE_GETEVENTMSG", unix.PTRACE_GETEVENTMSG, "PTRACE"},
	{"PTRACE_GETSIGINFO", unix.PTRACE_GETSIGINFO, "PTRACE"},
	{"PTRACE_SETSIGINFO", unix.PTRACE_SETSIGINFO, "PTRACE"},
	{"PTRACE_GETREGSET", unix.PTRACE_GETREGSET, "PTRACE"},
	{"PTRACE_SETREGSET", unix.PTRACE_SETREGSET, "PTRACE"},
	{"PTRACE_SEIZE", unix.PTRACE_SEIZE, "PTRACE"},
	{"PTRACE_INTERRUPT", unix.PTRACE_INTERRUPT, "PTRACE"},
	{"PTRACE_LISTEN", unix.PTRACE_LISTEN, "PTRACE"},
	{"PTRACE_PEEKSIGINFO", unix.PTRACE_PEEKSIGINFO, "PTRACE"},
	{"PTRACE_GETSIGMASK", unix.PTRACE_GETSIGMASK, "PTRACE"},
	{"PTRACE_SETSIGMASK", unix.PTRACE_SETSIGMASK, "PTRACE"},
	{"PTRACE_SECCOMP_GET_FILTER", unix.PTRACE_SECCOMP_GET_FILTER, "PTRACE"},
	{"PTRACE_SECCOMP_GET_METADATA", unix.PTRACE_SECCOMP_GET_METADATA, "PTRACE"},
	{"PTRACE_GET_SYSCALL_INFO", unix.PTRACE_GET_SYSCALL_INFO, "PTRACE"},
	{"PTRACE_GET_RSEQ_CONFIGURATION", unix.PTRACE_GET_RSEQ_CONFIGURATION, "PTRACE"},
	{"PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG", unix.PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG, "PTRACE"},
	{"PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG", unix.PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG, "PTRACE"},
	{"PTRACE_SET_SYSCALL_INFO", unix.PTRACE_SET_SYSCALL_INFO, "PTRACE"},

	// clock ids.
	{"CLOCK_REALTIME", unix.CLOCK_REALTIME, "CLOCK"},
	{"CLOCK_MONOTONIC", unix.CLOCK_MONOTONIC, "CLOCK"},
	{"CLOCK_PROCESS_CPUTIME_ID", unix.CLOCK_PROCESS_CPUTIME_ID, "CLOCK"},
	{"CLOCK_THREAD_CPUTIME_ID", unix.CLOCK_THREAD_CPUTIME_ID, "CLOCK"},
	{"CLOCK_MONOTONIC_RAW", unix.CLOCK_MONOTONIC_RAW, "CLOCK"},
	{"CLOCK_REALTIME_COARSE", unix.CLOCK_REALTIME_COARSE, "CLOCK"},
	{"CLOCK_MONOTONIC_COARSE", unix.CLOCK_MONOTONIC_COARSE, "CLOCK"},
	{"CLOCK_BOOTTIME", unix.CLOCK_BOOTTIME, "CLOCK"},
	{"CLOCK_REALTIME_ALARM", unix.CLOCK_REALTIME_ALARM, "CLOCK"},
	{"CLOCK_BOOTTIME_ALARM", unix.CLOCK_BOOTTIME_ALARM, "CLOCK"},
	{"CLOCK_TAI", unix.CLOCK_TAI, "CLOCK"},

	// clock_nanosleep and timer_settime flags.
	{"TIMER_ABSTIME", unix.TIMER_ABSTIME, "TIMER"},
}

var symbolByName = func() map[string]Symbol {
	m := make(map[string]Symbol, len(Symbols))
	for _, s := range Symbols {
		m[s.Name] = s
	}
	return m
}()

// ParseValue reads a value to compare an argument with: a decimal ("42"),
// a hexadecimal ("0x4206"), a negative decimal ("-100", stored as 64-bit
// two's complement, as a sign-extended signed argument holds it; see
// Arg.Value) or the name of a constant in Symbols ("CLONE_NEWUSER").
// Names are upper case, as in the C headers.
func ParseValue(s string) (uint64, error) {
	if s == "" {
		return 0, fmt.Errorf("empty value: give a number (42, 0x2a, -100) or a constant name such as CLONE_NEWUSER")
	}
	if c := s[0]; c == '-' || (c >= '0' && c <= '9') {
		return parseNumber(s)
	}
	if sym, ok := symbolByName[s]; ok {
		return sym.Value, nil
	}
	if up := strings.ToUpper(s); up != s {
		if _, ok := symbolByName[up]; ok {
			return 0, fmt.Errorf("unknown value %q: constant names are upper case; did you mean %s?", s, up)
		}
	}
	names := make([]string, len(Symbols))
	for i, sym := range Symbols {
		names[i] = sym.Name
	}
	return 0, fmt.Errorf("unknown value %q: give a number (42, 0x2a, -100) or a known constant such as CLONE_NEWUSER%s",
		s, didYouMean(suggest(strings.ToUpper(s), names)))
}

func parseNumber(s string) (uint64, error) {
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		if strings.HasPrefix(rest, "-") || strings.HasPrefix(rest, "+") {
			return 0, fmt.Errorf("invalid number %q", s)
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid number %q: a negative value must be a decimal from %d to -1", s, int64(-1)<<63)
		}
		return uint64(n), nil
	}
	base := 10
	digits := s
	if rest, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		base, digits = 16, rest
	}
	n, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid number %q: give a decimal (42) or hexadecimal (0x2a) that fits in 64 bits", s)
	}
	return n, nil
}
