/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The verdict: every hook hands its call to judge(), which matches it
 * against the policy in force and acts on the rule that wins.
 */
#pragma once

#include "emit.h"

#define EPERM 1
#define SIGKILL 9

/* judge's verdict in the signal tier when it queued a SIGKILL. */
#define SG_KILLED 1

/*
 * The helpers only queue the signal (through irq_work here): 0 means queued,
 * not dead. A SIGKILL queued in a syscall hook is delivered before the call
 * returns to user space, but the syscall body still runs: this is no veto.
 */
static __always_inline long act(const struct rule *r)
{
	switch (r->action) {
	case SG_ACTION_SIGNAL_PROCESS:
	case SG_ACTION_DENY: /* only reached where the call cannot be refused */
		return bpf_send_signal(r->signal);
	case SG_ACTION_SIGNAL_THREAD:
		return bpf_send_signal_thread(r->signal);
	default:
		return 0;
	}
}

/*
 * Whether the target is a child the caller made itself: strace's probe
 * child, the command a tracer starts. Killing the caller would orphan it,
 * stopped or in pause(), so it goes too. Bounded: a caller with more
 * children than this keeps the rest.
 */
static __always_inline bool own_child(struct task_struct *task, __u32 tgid)
{
	struct list_head *head = (struct list_head *)((void *)task + bpf_core_field_offset(struct task_struct, children));
	struct list_head *pos = BPF_CORE_READ(task, children.next);
	__u64 sibling = bpf_core_field_offset(struct task_struct, sibling);

	for (int i = 0; i < 64 && pos && pos != head; i++) {
		struct task_struct *child = (struct task_struct *)((void *)pos - sibling);
		if (BPF_CORE_READ(child, tgid) == tgid)
			return true;
		pos = BPF_CORE_READ(pos, next);
	}
	return false;
}

#define PTRACE_TRACEME_REQUEST 0
#define PTRACE_ATTACH_REQUEST 16
#define PTRACE_SEIZE_REQUEST 0x4206

/*
 * Whether the deny-tier hook judges this call: it sees every call that
 * reaches the kernel's ptrace access check for another process. ptrace's
 * other requests (TRACEME, and requests to a process already traced) never
 * get there, and neither does perf_event_open of a perfmon-capable caller
 * (CAP_PERFMON or CAP_SYS_ADMIN: the kernel checks ptrace access only for
 * others), so perf_event_open is judged here, at syscall entry, in every
 * tier.
 */
static __always_inline bool judged_by_veto(__u32 id, __s64 request)
{
	if (!veto_hooked)
		return false;
	switch (id) {
	case SG_SYSCALL_PTRACE:
		return request == PTRACE_ATTACH_REQUEST || request == PTRACE_SEIZE_REQUEST;
	case SG_SYSCALL_PERF_EVENT_OPEN:
		return false;
	default:
		return true;
	}
}

/* The policy in force, and its generation; NULL before there is one. */
static __always_inline const struct policy *active_policy(__u32 *generation)
{
	__u32 zero = 0;
	__u32 *active_generation = bpf_map_lookup_elem(&active, &zero);

	if (!active_generation)
		return NULL;
	*generation = *active_generation & (SG_GENERATIONS - 1);
	return bpf_map_lookup_elem(&policies, generation);
}

/* The rules of the generation in force that guard syscall id, or 0. */
static __always_inline __u64 candidates_for(__u32 id, __u32 *generation, const struct policy **policy)
{
	/*
	 * The bound is checked on the very register that indexes: without
	 * the barrier, clang may compute id again, unchecked, for the index.
	 */
	barrier_var(id);
	if (id >= SG_SYSCALL_MAX)
		return 0;
	*policy = active_policy(generation);
	if (!*policy)
		return 0;
	return (*policy)->rules & (*policy)->syscalls[id];
}

/*
 * The rules that match c, cheapest and most selective keys first (rules
 * are usually scoped by cgroup), out as soon as none is left: most calls
 * match nothing, and they should pay as little as possible. The target is
 * resolved last, and only for a call some rule still holds. Returns 0
 * also for a call that reaches the caller's own thread group, and for
 * the sigguard that reads the events.
 */
static __always_inline __u64 matching_rules(struct matching *m, struct call *c)
{
	match_cgroups(m, SG_KEY_CGROUP, c->task, bpf_get_current_cgroup_id());
	if (!m->candidates)
		return 0;
	/* Who calls, read only for a call some rule still holds. */
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();
	if (is_sigguard(pid_tgid))
		return 0;
	c->tgid = pid_tgid >> 32;
	c->tid = (__u32)pid_tgid;
	c->uid = (__u32)uid_gid;
	c->gid = uid_gid >> 32;
	match_value(m, SG_KEY_UID, c->uid, 0);
	match_value(m, SG_KEY_REQUEST, (__u64)c->request, 0);
	if (!m->candidates)
		return 0;
	/* Two reads through the task: only when a rule or the event needs them. */
	if (wanted(m, SG_KEY_PPID)) {
		c->ppid = parent_tgid(c->task);
		match_value(m, SG_KEY_PPID, c->ppid, 0);
	}
	match_comm(m);
	match_exe(m, SG_KEY_EXE, c->task);
	match_ancestors(m, c->task);
	if (!(m->candidates & ~m->exempt))
		return 0;
	struct pid_namespace *ns = active_pid_ns(c->task);
	c->ns = ns;
	c->ns_level = BPF_CORE_READ(ns, level);
	resolve_target_in(&c->target, c->ns);
	if (targets_self(&c->target, c->tgid))
		return 0;
	if (c->target.kind == SG_TARGET_UNRESOLVED)
		count_in(&counters, SG_COUNTER_UNRESOLVED);
	if (wants_target(m))
		match_target(m, &c->target);
	return m->candidates & ~m->exempt;
}

/*
 * The call as the rules see it, built from the calling thread, and the
 * rules of the generation in force that match it (0: none). Matching
 * only: nothing is signalled, counted or reported.
 */
static __always_inline __u64 judge_match(__u16 syscall, __s64 request, struct target target, struct matching *m,
					 struct call *c)
{
	const struct policy *p = NULL;
	__u32 generation = 0;

	m->candidates = candidates_for(syscall & ~SG_SYSCALL_COMPAT, &generation, &p);
	if (!m->candidates || !p)
		return 0;
	m->p = p;
	m->generation = generation;
	*c = (struct call){
		.task = current_task(),
		.syscall = syscall,
		.request = request,
		.target = target,
	};
	return matching_rules(m, c);
}

/* The kill waiting for its proof (the exit), with what to clean up after it. */
static __always_inline void note_kill(const struct call *c, __u32 index, __u32 generation, __u64 now, bool denied)
{
	struct kill k = { .call_ns = now, .rule = index, .generation = generation, .syscall = c->syscall, .denied = denied };

	if (c->values)
		k.nr = c->values->nr;

	/* A refused attach touched no child: there is nothing to clean up. */
	if (!denied && (c->syscall & ~SG_SYSCALL_COMPAT) == SG_SYSCALL_PTRACE && c->target.kind == SG_TARGET_TASK) {
		__u32 target = task_tgid(c->target.task);
		if (own_child(c->task, target))
			k.reap = target;
	}
	if (bpf_map_update_elem(&kills, &c->tgid, &k, BPF_NOEXIST) == 0)
		__sync_fetch_and_add(&kills_noted, 1);
}

static __always_inline void count_verdict(__u32 generation, __u32 index, bool signals, long result, bool denied)
{
	count_in(&counters, SG_COUNTER_MATCHED);
	count_rule(generation, index, SG_RULE_MATCHED);
	if (signals) {
		count_in(&counters, result == 0 ? SG_COUNTER_SIGNALLED : SG_COUNTER_SEND_FAILED);
		count_rule(generation, index, result == 0 ? SG_RULE_SIGNALLED : SG_RULE_SEND_FAILED);
	}
	if (denied) {
		count_in(&counters, SG_COUNTER_DENIED);
		count_rule(generation, index, SG_RULE_DENIED);
	}
}

/*
 * judge matches a call against the policy and acts on the rule that wins.
 * syscall is an enum syscall_id, possibly or'ed with SG_SYSCALL_COMPAT;
 * tier says which hook asks. It returns the verdict: -EPERM to refuse
 * (deny tiers only), SG_KILLED when the signal tier queued a SIGKILL,
 * else 0.
 */
static __always_inline int judge(__u16 syscall, __s64 request, struct target target, __u8 tier)
{
	__u32 id = syscall & ~SG_SYSCALL_COMPAT;

	if (id >= SG_SYSCALL_MAX)
		return 0;
	if (tier == SG_TIER_SIGNAL && judged_by_veto(id, request))
		return 0;
	struct matching m = {};
	struct call c = {};
	__u64 matched = judge_match(syscall, request, target, &m, &c);
	if (!matched)
		return 0;
	__u32 generation = m.generation;
	__u64 now = bpf_ktime_get_boot_ns();
	__u32 index = lowest_bit(matched);
	__u32 slot = generation * SG_MAX_RULES + index;
	const struct rule *r = bpf_map_lookup_elem(&rules, &slot);
	if (!r)
		return 0;

	/*
	 * A deny tier refuses every call a non-audit rule matches; a deny
	 * rule then sends nothing. Signal first: every instruction before it
	 * widens the window.
	 */
	bool denied = tier != SG_TIER_SIGNAL && r->action != SG_ACTION_AUDIT;
	bool signals = r->action != SG_ACTION_AUDIT && !(denied && r->action == SG_ACTION_DENY);
	long result = signals ? act(r) : 0;

	if (!c.ppid)
		c.ppid = parent_tgid(c.task);
	/* A SIGKILL the kernel took is proven by the exit that follows. */
	if (signals && r->signal == SIGKILL && result == 0)
		note_kill(&c, index, generation, now, denied);
	count_verdict(generation, index, signals, result, denied);
	report(&c, r, generation, index, result, now, tier, denied);
	if (denied)
		return -EPERM;
	return signals && r->signal == SIGKILL && result == 0 ? SG_KILLED : 0;
}

/* The tracepoints' entry to judge: they can signal, never refuse. */
static __always_inline int guard_call(__u16 syscall, __s64 request, struct target target)
{
	return judge(syscall, request, target, SG_TIER_SIGNAL);
}
