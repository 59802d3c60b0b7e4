/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * 32-bit syscalls (int $0x80, or a 32-bit program) fire no syscalls:*
 * tracepoint. These whole-table hooks run on every syscall of every
 * process, so they are attached only on request, and most calls leave at
 * the first comparison: only the routes' ia32 numbers go further, and only
 * those read the task. A native syscall with the same number is told
 * apart by TS_COMPAT.
 */
#pragma once

#include "judge.h"
#include "syscalls_x86.h"
#include "routes_syscalls.h"

/* x86: thread_info.status bit set while a task runs a 32-bit syscall. */
#define TS_COMPAT 0x0002

static __always_inline bool in_compat_syscall(void)
{
	return BPF_CORE_READ(current_task(), thread_info.status) & TS_COMPAT;
}

/* ia32 arguments travel in bx, cx, dx, si, di, bp. */
SEC("tp_btf/sys_enter")
int BPF_PROG(sg_compat_enter, struct pt_regs *regs, long id)
{
	__u16 route = compat_route_at(id, SG_AT_ENTRY);

	if (!route || !in_compat_syscall())
		return 0;
	guard_entry(NULL, route, (__s64)(__s32)regs->bx, (__s64)(__s32)regs->cx, (__u32)regs->di);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sg_compat_exit, struct pt_regs *regs, long ret)
{
	__u16 route;

	if (ret < 0)
		return 0;
	route = compat_route_at(regs->orig_ax, SG_AT_EXIT);
	if (!route || !in_compat_syscall())
		return 0;
	return guard_open(NULL, ret, route);
}
