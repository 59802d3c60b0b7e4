/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The syscall routes' table, by x86 syscall number: the one place that
 * says which syscall numbers are which route, in the native (x86-64) and
 * the 32-bit (ia32) tables, and whether the route is judged at syscall
 * entry or exit. The deny tiers' route_of, the 32-bit hooks' dispatch and
 * route_table (which user space checks against its own table) derive from
 * it.
 *
 *	X(route, x86-64 number, ia32 number, ENTRY or EXIT, program, syscall)
 *
 * The program is the one routes_syscalls.h makes for the route, on the
 * syscall's sys_enter_ or sys_exit_ tracepoint.
 */
#pragma once

#define SG_SYSCALL_ROUTES(X)                                                             \
	X(SG_SYSCALL_PTRACE, 101, 26, ENTRY, sg_ptrace, ptrace)                          \
	X(SG_SYSCALL_PROCESS_VM_READV, 310, 347, ENTRY, sg_vm_readv, process_vm_readv)   \
	X(SG_SYSCALL_PROCESS_VM_WRITEV, 311, 348, ENTRY, sg_vm_writev, process_vm_writev) \
	X(SG_SYSCALL_PIDFD_GETFD, 438, 438, ENTRY, sg_pidfd_getfd, pidfd_getfd)          \
	X(SG_SYSCALL_PERF_EVENT_OPEN, 298, 336, ENTRY, sg_perf_open, perf_event_open)    \
	X(SG_SYSCALL_OPEN, 2, 5, EXIT, sg_open_exit, open)                               \
	X(SG_SYSCALL_OPENAT, 257, 295, EXIT, sg_openat_exit, openat)                     \
	X(SG_SYSCALL_OPENAT2, 437, 437, EXIT, sg_openat2_exit, openat2)                  \
	X(SG_SYSCALL_CREAT, 85, 8, EXIT, sg_creat_exit, creat)

/* io_uring_enter, the same number in both tables. */
#define NR_IO_URING_ENTER 426

#define SG_AT_ENTRY 0
#define SG_AT_EXIT 1

/* What user space reads back to check its own table against this one. */
struct route_row {
	__u16 route;     /* enum syscall_id */
	__u16 native_nr; /* x86-64 */
	__u16 compat_nr; /* ia32 */
	__u16 at;        /* SG_AT_ENTRY or SG_AT_EXIT */
};

#define SG_ROUTE_ROW(route, native, compat, at, prog, name) { route, native, compat, SG_AT_##at },
volatile const struct route_row route_table[] = { SG_SYSCALL_ROUTES(SG_ROUTE_ROW) };

#define SG_NATIVE_CASE(route, native, compat, at, prog, name) case native: return route;
#define SG_COMPAT_CASE(route, native, compat, at, prog, name) case compat: return route | SG_SYSCALL_COMPAT;

/* The route a syscall number is, or 0. */
static __always_inline __u16 route_of(long nr, bool compat)
{
	if (compat) {
		switch (nr) {
		SG_SYSCALL_ROUTES(SG_COMPAT_CASE)
		}
		return 0;
	}
	switch (nr) {
	SG_SYSCALL_ROUTES(SG_NATIVE_CASE)
	}
	return 0;
}

/* route_of for the 32-bit table, only for routes judged at `at`. */
#define SG_COMPAT_CASE_AT(route, native, compat, at, prog, name) case compat: return SG_AT_##at == want ? route | SG_SYSCALL_COMPAT : 0;

static __always_inline __u16 compat_route_at(long nr, int want)
{
	switch (nr) {
	SG_SYSCALL_ROUTES(SG_COMPAT_CASE_AT)
	}
	return 0;
}
