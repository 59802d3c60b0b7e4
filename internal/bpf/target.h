/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What a call reaches: the task the kernel resolves (or will resolve) for
 * it. A route describes its target cheaply (a number still to look up, or
 * an object it already holds); judge() resolves it only once the caller
 * matched a rule, so that calls nobody guards pay nothing for it.
 */
#pragma once

#include "task.h"

struct target {
	struct task_struct *task; /* SG_TARGET_TASK: the task reached */
	struct pid *pid;          /* its struct pid, once known */
	__s64 nr;                 /* by_nr: the pid the call names, in the caller's pid namespace */
	__u8 kind;                /* enum target_kind, once resolved */
	bool by_nr;               /* still a number to look up */
};

/* A pid as a syscall names it: resolved later, in the caller's namespace. */
static __always_inline struct target target_nr(__s64 nr)
{
	return (struct target){ .nr = nr, .by_nr = true };
}

static __always_inline struct target target_kind(__u8 kind)
{
	return (struct target){ .kind = kind };
}

/* The process behind a struct pid the kernel handed out (a file, a pidfd). */
static __always_inline struct target target_pid(struct pid *pid)
{
	struct task_struct *task = pid ? pid_task_of(pid) : NULL;

	/* A pid whose task has gone: the call finds no one either. */
	return (struct target){ .task = task, .pid = pid, .kind = task ? SG_TARGET_TASK : SG_TARGET_MISSING };
}

/* A task the kernel gives the hook (the deny tiers' access check). */
static __always_inline struct target target_task(struct task_struct *task)
{
	return (struct target){ .task = task, .pid = BPF_CORE_READ(task, thread_pid), .kind = SG_TARGET_TASK };
}

/* The process behind a pidfd; one that is no pidfd reaches nobody. */
static __always_inline struct target pidfd_target(int pidfd)
{
	struct pid *pid = pidfd_pid(fd_file(pidfd));

	return pid ? target_pid(pid) : target_kind(SG_TARGET_MISSING);
}

/*
 * Looks a by-number target up in ns as find_pid_ns does: the task whose
 * (thread) id the number is there. The kernel uses the pid's low 32 bits.
 */
static __always_inline void resolve_target_in(struct target *t, struct pid_namespace *ns)
{
	struct pid *pid = NULL;

	if (!t->by_nr)
		return;
	t->by_nr = false;
	t->kind = find_pid_ns((int)t->nr, ns, &pid);
	if (t->kind == SG_TARGET_TASK)
		*t = target_pid(pid);
}

/* A syscall's pid is a number in the caller's active pid namespace (find_task_by_vpid). */
static __always_inline void resolve_target(struct target *t)
{
	if (t->by_nr)
		resolve_target_in(t, active_pid_ns(current_task()));
}

/* Whether the call reaches the caller's own thread group: no threat. */
static __always_inline bool targets_self(const struct target *t, __u32 tgid)
{
	return t->kind == SG_TARGET_TASK && task_tgid(t->task) == tgid;
}
