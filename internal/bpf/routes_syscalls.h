/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The syscall routes, one program each on the syscall's tracepoint. Each
 * says how its target is found; judge() resolves it and decides.
 */
#pragma once

#include "judge.h"
#include "sharers.h"
#include "syscalls_x86.h"

/* perf_event_open's flag: pid is a cgroup's descriptor, not a pid. */
#define PERF_FLAG_PID_CGROUP (1U << 2)

/* ptrace's pid (its low 32 bits, as the kernel takes a long and uses an int). */
static __always_inline struct target ptrace_target(__s64 request, __s64 pid)
{
	/* TRACEME hands the caller to its parent: it reaches no other process. */
	if (request == PTRACE_TRACEME_REQUEST)
		return target_kind(SG_TARGET_NONE);
	return target_nr((int)pid);
}

/* perf_event_open's pid: 0 is the caller, -1 (or a cgroup) every process on a CPU. */
static __always_inline struct target perf_target(__s64 pid, __u64 flags)
{
	if ((flags & PERF_FLAG_PID_CGROUP) || (int)pid == -1)
		return target_kind(SG_TARGET_EVERY);
	return target_nr((int)pid);
}

/*
 * A route judged at syscall entry, from its arguments (a0, a1, a4: the
 * ones any route reads). The native tracepoints and the 32-bit hook both
 * come here, so a route reads its arguments the same way from either.
 * ctx is the syscall tracepoint's, for the tail call to the sharers'
 * killer; NULL from the 32-bit hook, whose program type cannot make it.
 */
static __always_inline int guard_entry(void *ctx, __u16 syscall, __s64 a0, __s64 a1, __u64 a4)
{
	switch (syscall & ~SG_SYSCALL_COMPAT) {
	case SG_SYSCALL_PTRACE:
		return guard_call(syscall, a0, ptrace_target(a0, a1));
	case SG_SYSCALL_PROCESS_VM_READV:
	case SG_SYSCALL_PROCESS_VM_WRITEV:
		return guard_call(syscall, 0, target_nr((int)a0));
	case SG_SYSCALL_PIDFD_GETFD:
		/* Killed at entry, the call still installs the descriptor. */
		if (guard_call(syscall, 0, pidfd_target((int)a0)) == SG_KILLED && ctx)
			kill_sharers(ctx);
		return 0;
	case SG_SYSCALL_PERF_EVENT_OPEN:
		/* pid 0 is the caller itself. */
		if ((int)a1 == 0)
			return 0;
		return guard_call(syscall, 0, perf_target(a1, a4));
	}
	return 0;
}

/* A route judged at entry: its program on sys_enter_<name>. */
#define SG_ENTRY_PROGRAM(prog, name, route)                                \
	SEC("tracepoint/syscalls/sys_enter_" #name)                         \
	int prog(struct trace_event_raw_sys_enter *ctx)                      \
	{                                                                    \
		guard_entry(ctx, route, ctx->args[0], ctx->args[1], ctx->args[4]); \
		return 0;                                                    \
	}

/*
 * An open is judged on the file it installed, at syscall exit: the
 * SIGKILL lands before user space sees the descriptor. Only a file that is
 * /proc/<pid>/mem of some process goes further than its f_op (or, until
 * proc_mem_fops is known, its superblock and name); relative paths,
 * symlinks, dirfds and "//proc/./" spellings all end at that file.
 */
static __always_inline int guard_open(void *ctx, long fd, __u16 syscall)
{
	if (fd < 0)
		return 0;
	struct file *f = fd_file(fd);
	__u64 fops = proc_mem_fops;
	if (!f || (fops && (__u64)BPF_CORE_READ(f, f_op) != fops))
		return 0;
	struct pid *pid = proc_mem_pid(f);
	if (!pid)
		return 0;
	if (!fops && is_sigguard(bpf_get_current_pid_tgid()))
		proc_mem_fops = (__u64)BPF_CORE_READ(f, f_op);
	if (guard_call(syscall, 0, target_pid(pid)) == SG_KILLED && ctx)
		kill_sharers(ctx);
	return 0;
}

/* A route judged at exit, on the file the call opened: sys_exit_<name>. */
#define SG_EXIT_PROGRAM(prog, name, route)                                 \
	SEC("tracepoint/syscalls/sys_exit_" #name)                          \
	int prog(struct trace_event_raw_sys_exit *ctx)                       \
	{                                                                    \
		return guard_open(ctx, ctx->ret, route);                     \
	}

/* Every syscall route of the table gets its program. */
#define SG_ROUTE_PROGRAM(route, native, compat, at, prog, name) SG_##at##_PROGRAM(prog, name, route)
SG_SYSCALL_ROUTES(SG_ROUTE_PROGRAM)
