/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#pragma once

#include "judge.h"
#include "core_fixes.h"
#include "syscalls_x86.h"
#include "compat_x86.h"

/*
 * The deny tiers. Every route to another process's memory passes the
 * kernel's ptrace access check (__ptrace_may_access, which skips the
 * caller's own thread group before asking the LSMs): PTRACE_ATTACH and
 * SEIZE, process_vm_readv/writev, opens of /proc/<pid>/mem, pidfd_getfd
 * and perf_event_open of a pid. A BPF LSM program there (lsm=...,bpf), or
 * fmod_ret on security_ptrace_access_check where BPF LSM is not active,
 * refuses the access before anything happens. The hook does not say which
 * syscall asked, so it is read from the registers the task entered with.
 */
#define PTRACE_MODE_ATTACH 0x02

/*
 * The route of the call being checked. An io_uring request reaches the
 * check inline in io_uring_enter, or on one of io_uring's threads. Those
 * never entered from user space: older kernels zero their entry
 * registers, newer ones (6.18 here) copy their creator's, so a worker made
 * while its creator was in openat would pass for openat. The thread's
 * flag is therefore asked first. Which opcode asked is not known here.
 */
static __always_inline __u16 route_checked(struct task_struct *task, struct pt_regs *regs, bool compat)
{
	long nr = BPF_CORE_READ(regs, orig_ax);

	if (BPF_CORE_READ(task, flags) & PF_IO_WORKER)
		return SG_SYSCALL_IO_URING;
	if (nr == NR_IO_URING_ENTER)
		return SG_SYSCALL_IO_URING;
	return route_of(nr, compat);
}

static __always_inline int veto(struct task_struct *child, unsigned int mode, __u8 tier)
{
	/*
	 * Reading /proc/<pid>/stat and the like checks in READ mode: only the
	 * checks that grant control or memory (ATTACH) are judged. Most
	 * checks are READ ones, so this goes before any read of the task.
	 */
	if (!(mode & PTRACE_MODE_ATTACH))
		return 0;
	struct task_struct *task = current_task();
	bool compat = in_compat_syscall();
	struct pt_regs *regs = entry_regs(task);
	__u16 syscall = route_checked(task, regs, compat);
	__u32 id = syscall & ~SG_SYSCALL_COMPAT;
	__s64 request = 0;

	/*
	 * perf_event_open is judged at its tracepoint (see judged_by_veto).
	 * route_of names it so that it is left here.
	 */
	if (!syscall || id == SG_SYSCALL_PERF_EVENT_OPEN)
		return 0;
	if (id == SG_SYSCALL_PTRACE)
		request = compat ? (__s64)(__s32)BPF_CORE_READ(regs, bx) : (__s64)BPF_CORE_READ(regs, di);
	return judge(syscall, request, target_task(child), tier);
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(sg_veto_lsm, struct task_struct *child, unsigned int mode, int ret)
{
	/* An earlier LSM's refusal stands. */
	if (ret)
		return ret;
	return veto(child, mode, SG_TIER_LSM);
}

SEC("fmod_ret/security_ptrace_access_check")
int BPF_PROG(sg_veto_fmod_ret, struct task_struct *child, unsigned int mode, int ret)
{
	/* Non-zero skips the LSMs and is returned as their verdict. */
	if (ret)
		return ret;
	return veto(child, mode, SG_TIER_FMOD_RET);
}
