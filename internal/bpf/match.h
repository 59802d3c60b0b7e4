/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Matching a call against one generation of the policy. Rules are bits:
 * for each property of the call, one hash lookup gives the rules that name
 * its value, under match and under except. A key no rule uses is neither
 * read nor looked up.
 */
#pragma once

#include "core_fixes.h"
#include "maps.h"
#include "target.h"

/* A generic syscall's call as the rules and the event see it. */
struct syscall_values {
	__u64 args[SG_MAX_SYSCALL_ARGS];
	__s64 ret;
	__u64 latency_ns;
	__u32 nr;
	__u8 at_exit;
};

/* What the rules are matched against. */
struct call {
	struct task_struct *task;
	__u32 tgid;
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u16 syscall;
	__s64 request;
	struct target target;
	struct pid_namespace *ns; /* the caller's active pid namespace, once the target is resolved */
	__u32 ns_level;           /* its level: 0 is the initial namespace */
	const struct syscall_values *values; /* the generic route's; NULL for the other routes */
};

/*
 * Narrows candidates to the rules whose every match list holds, and
 * collects in exempt the rules an except list exempts.
 */
struct matching {
	const struct policy *p;
	__u32 generation;
	__u64 candidates;
	__u64 exempt;
};

/* Ors into hit/except the rules that name this value of key. */
static __always_inline void look_up(__u32 generation, __u32 key, __u64 a, __u64 b, __u64 *hit, __u64 *except)
{
	struct matcher_key k = { .generation = generation, .key = key, .a = a, .b = b };
	struct matcher_masks *m = bpf_map_lookup_elem(&matchers, &k);

	if (m) {
		*hit |= m->match;
		*except |= m->except;
	}
}

static __always_inline bool wanted(struct matching *m, __u32 key)
{
	return (m->p->uses[key] | m->p->excepts[key]) & m->candidates;
}

static __always_inline void settle(struct matching *m, __u32 key, __u64 hit, __u64 except)
{
	/* A rule that lists values of key and matched none of them drops out. */
	m->candidates &= ~m->p->uses[key] | hit;
	m->exempt |= except;
}

static __always_inline void match_value(struct matching *m, __u32 key, __u64 a, __u64 b)
{
	__u64 hit = 0, except = 0;

	if (!wanted(m, key))
		return;
	look_up(m->generation, key, a, b, &hit, &except);
	settle(m, key, hit, except);
}

static __always_inline void match_comm(struct matching *m)
{
	char comm[SG_COMM_LEN] = {};
	__u64 a, b;

	if (!wanted(m, SG_KEY_COMM))
		return;
	caller_comm(comm);
	__builtin_memcpy(&a, comm, 8);
	__builtin_memcpy(&b, comm + 8, 8);
	match_value(m, SG_KEY_COMM, a, b);
}

/*
 * A task's executable by device and inode: renaming or a new comm does
 * not escape. The caller's is read with plain loads where the kernel
 * gives a BTF pointer to it (Linux 5.11), as fd_file does.
 */
static __always_inline void match_exe(struct matching *m, __u32 key, struct task_struct *task)
{
	__u64 dev, ino;

	if (!wanted(m, key))
		return;
	if (key == SG_KEY_EXE && bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)) {
		struct inode *inode = bpf_get_current_task_btf()->mm->exe_file->f_inode;
		dev = inode->i_sb->s_dev;
		ino = inode->i_ino;
	} else {
		struct file *exe = BPF_CORE_READ(task, mm, exe_file);
		dev = BPF_CORE_READ(exe, f_inode, i_sb, s_dev);
		ino = BPF_CORE_READ(exe, f_inode, i_ino);
	}
	match_value(m, key, dev, ino);
}

static __always_inline void match_ancestors(struct matching *m, struct task_struct *task)
{
	__u64 hit = 0, except = 0;

	if (!wanted(m, SG_KEY_ANCESTOR))
		return;
	for (int depth = 0; depth < SG_MAX_ANCESTOR_DEPTH; depth++) {
		task = BPF_CORE_READ(task, real_parent);
		if (!task)
			break;
		__u32 tgid = BPF_CORE_READ(task, tgid);
		if (!tgid)
			break;
		look_up(m->generation, SG_KEY_ANCESTOR, tgid, 0, &hit, &except);
		if (tgid == 1)
			break;
	}
	settle(m, SG_KEY_ANCESTOR, hit, except);
}

/*
 * A cgroup rule covers its whole subtree: try every level of the path of
 * the cgroup cg where a rule can name one (0 to SG_MAX_CGROUP_DEPTH - 1),
 * by the kernel's own table of its ancestors, however deep cg is. Not
 * with bpf_get_current_ancestor_cgroup_id: tracing programs may call that
 * helper only from Linux 5.14 (and only for the caller), and the guard
 * must load on 5.10.
 */
static __always_inline void cgroup_path_rules(__u32 generation, __u32 key, struct cgroup *cg, __u64 *hit, __u64 *except)
{
	int level = BPF_CORE_READ(cg, level);

	for (int at = 0; at < SG_MAX_CGROUP_DEPTH && cg && at <= level; at++)
		look_up(generation, key, cgroup_ancestor_id(cg, at), 0, hit, except);
}

/*
 * The cgroup rules of a task whose cgroup has id cgroup_id (read where
 * the task is now: a thread moved since it started is judged where it
 * went): from the cache when it holds this epoch and generation, else by
 * walking the path, and then cached. The epoch is read before the rules,
 * so a verdict computed while user space changes them is stored under the
 * epoch it knew, which user space has left behind. The key and the
 * verdict are made only once a rule needs them, and the walk fills plain
 * scalars: stack written before the walk's loop multiplies the states
 * the verifier explores in it.
 */
static __always_inline void match_cgroups(struct matching *m, __u32 key, struct task_struct *task, __u64 cgroup_id)
{
	__u64 hit = 0, except = 0;

	if (!wanted(m, key))
		return;
	struct cgroup_verdict_key k = { .cgroup_id = cgroup_id, .key = key };
	__u64 epoch = *(volatile __u64 *)&cgroup_epoch;
	struct cgroup_verdict *cached = bpf_map_lookup_elem(&cgroup_verdicts, &k);
	if (cached && cached->epoch == epoch && cached->generation == m->generation) {
		hit = cached->match;
		except = cached->except;
	} else {
		cgroup_path_rules(m->generation, key, BPF_CORE_READ(task, cgroups, dfl_cgrp), &hit, &except);
		struct cgroup_verdict v = { .epoch = epoch, .match = hit, .except = except, .generation = m->generation };
		bpf_map_update_elem(&cgroup_verdicts, &k, &v, BPF_ANY);
	}
	settle(m, key, hit, except);
}

static __always_inline bool wants_target(struct matching *m)
{
	return wanted(m, SG_KEY_TARGET_PID) || wanted(m, SG_KEY_TARGET_EXE) || wanted(m, SG_KEY_TARGET_CGROUP);
}

/*
 * Rules on what the call reaches, read from the target task itself. A
 * call that reaches no process matches no target rule. One that reaches
 * every process, or whose target could not be read, holds every target
 * rule and no target exception: a protected process is never left
 * unprotected for want of a read.
 */
static __always_inline void match_target(struct matching *m, const struct target *t)
{
	switch (t->kind) {
	case SG_TARGET_TASK:
		match_value(m, SG_KEY_TARGET_PID, task_tgid(t->task), 0);
		match_exe(m, SG_KEY_TARGET_EXE, t->task);
		match_cgroups(m, SG_KEY_TARGET_CGROUP, t->task, task_cgroup_id(t->task));
		return;
	case SG_TARGET_EVERY:
	case SG_TARGET_UNRESOLVED:
		return;
	default:
		settle(m, SG_KEY_TARGET_PID, 0, 0);
		settle(m, SG_KEY_TARGET_EXE, 0, 0);
		settle(m, SG_KEY_TARGET_CGROUP, 0, 0);
	}
}

/* Index of the lowest set bit of a non-zero mask: the first rule in order. */
static __always_inline __u32 lowest_bit(__u64 mask)
{
	__u32 index = 0;

	if (!(mask & 0xffffffffULL)) { index += 32; mask >>= 32; }
	if (!(mask & 0xffffULL)) { index += 16; mask >>= 16; }
	if (!(mask & 0xffULL)) { index += 8; mask >>= 8; }
	if (!(mask & 0xfULL)) { index += 4; mask >>= 4; }
	if (!(mask & 0x3ULL)) { index += 2; mask >>= 2; }
	if (!(mask & 0x1ULL)) { index += 1; }
	return index;
}
