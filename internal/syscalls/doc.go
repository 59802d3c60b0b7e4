// Package syscalls describes the x86-64 Linux syscalls a policy can name:
// their numbers, the arguments the running kernel's syscall tracepoints
// declare for them (names, C types and the register width the kernel
// actually uses), presets of related syscalls, and the symbolic values,
// errnos, durations and rates that conditions are written with.
//
// It only reads: tracefs format files and tables compiled in from
// golang.org/x/sys. It does not attach anything.
package syscalls
