/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The generic route: any syscall, by number. One program serves every
 * syscall's sys_enter_<name> tracepoint, and one every sys_exit_<name>:
 * user space attaches them only to the syscalls some rule names, so any
 * other syscall runs neither. A rule may add conditions on the arguments
 * (judged at entry, on the values the registers held: the kernel's body
 * reads the same registers) and on the result (judged at exit: the return
 * value, the time the call took). In the deny tiers, an fmod_ret program
 * on the syscall's function refuses a call a deny rule wins before the
 * body runs: syscalls are on the kernel's error-injection list.
 */
#pragma once

#include "conditions.h"

/*
 * Acts on the rule that won a generic call: its signal, or in a deny tier
 * its veto. Only a deny rule refuses: a rule that signals a profiler's
 * target must not fail its calls. Returns the veto's -errno, or 0.
 */
static __always_inline int generic_verdict(struct matching *m, struct call *c, __u32 index, __u8 tier)
{
	__u32 slot = m->generation * SG_MAX_RULES + index;
	const struct rule *r = bpf_map_lookup_elem(&rules, &slot);
	__u64 now = bpf_ktime_get_boot_ns();

	if (!r)
		return 0;
	if ((m->p->limited >> (index & (SG_MAX_RULES - 1))) & 1 && !within_rate(slot, c, now)) {
		count_in(&counters, SG_COUNTER_MATCHED);
		count_rule(m->generation, index, SG_RULE_MATCHED);
		count_in(&counters, SG_COUNTER_HELD_BACK);
		count_rule(m->generation, index, SG_RULE_HELD_BACK);
		return 0;
	}
	bool denied = tier != SG_TIER_SIGNAL && r->action == SG_ACTION_DENY;
	bool signals = r->action != SG_ACTION_AUDIT && !denied;
	long result = signals ? act(r) : 0;

	if (!c->ppid)
		c->ppid = parent_tgid(c->task);
	if (signals && r->signal == SIGKILL && result == 0)
		note_kill(c, index, m->generation, now, false);
	count_verdict(m->generation, index, signals, result, denied);
	report(c, r, m->generation, index, result, now, tier, denied);
	return denied ? -(int)(r->deny_errno ? r->deny_errno : EPERM) : 0;
}

/*
 * The first rule of a non-zero mask, as a global function: the verifier
 * then follows what comes after with one unknown index, not once for
 * each of the 64 values lowest_bit's branches can give it.
 */
__noinline __u32 first_rule(__u64 mask)
{
	return lowest_bit(mask);
}

/* Whether a deny-tier veto is attached to nr's function. */
static __always_inline bool vetoed(__u32 nr)
{
	__u32 *v = bpf_map_lookup_elem(&vetoed_syscalls, &nr);

	return v && *v;
}

/*
 * The call's arguments, read only once some rule holds for the caller:
 * from the tracepoint's record (tp_args), or from the registers the task
 * entered with (regs, the veto's). A tracepoint program may load from its
 * context only within the tracepoint's record, which holds as many
 * arguments as the syscall takes, so a program shared by every syscall's
 * tracepoint copies them with a read that is not a load. The record the
 * kernel hands BPF always has room for six (past the syscall's own they
 * are stale).
 */
static __always_inline void load_args(struct syscall_values *v, const void *tp_args, const struct pt_regs *regs)
{
	if (tp_args) {
		bpf_probe_read_kernel(v->args, sizeof(v->args), tp_args);
		return;
	}
	v->args[0] = BPF_CORE_READ(regs, di);
	v->args[1] = BPF_CORE_READ(regs, si);
	v->args[2] = BPF_CORE_READ(regs, dx);
	v->args[3] = BPF_CORE_READ(regs, r10);
	v->args[4] = BPF_CORE_READ(regs, r8);
	v->args[5] = BPF_CORE_READ(regs, r9);
}

/*
 * A generic call at entry. From the tracepoint (tier SG_TIER_SIGNAL): acts
 * on the winning rule unless it is a deny rule a veto judges, and notes
 * the call for the rules judged at its exit. From the veto: acts only
 * when a deny rule wins, and returns the errno to refuse with.
 */
static __always_inline int generic_enter(struct syscall_values *v, const void *tp_args,
					 const struct pt_regs *regs, __u8 tier)
{
	struct matching m = {};
	struct call c = {};

	m.candidates = generic_candidates(v->nr, &m);
	if (!m.candidates || !m.p)
		return 0;
	c = (struct call){
		.task = current_task(),
		.syscall = SG_SYSCALL_GENERIC,
		.target = { .kind = SG_TARGET_NONE },
		.values = v,
	};
	__u64 matched = matching_rules(&m, &c);
	if (!matched)
		return 0;
	load_args(v, tp_args, regs);
	matched = holding(matched, m.p->conditioned, m.generation, v, 0);
	__u64 later = matched & m.p->at_exit;
	__u64 now_rules = matched & ~m.p->at_exit;

	if (later && tier == SG_TIER_SIGNAL) {
		struct inflight f = {
			.entry_ns = bpf_ktime_get_ns(),
			.rules = later,
			.serial = *(volatile __u64 *)&policy_serial,
			.generation = m.generation,
			.nr = v->nr,
		};
		__builtin_memcpy(f.args, v->args, sizeof(f.args));
		__u64 key = (__u64)c.task;
		bpf_map_update_elem(&inflight, &key, &f, BPF_ANY);
	}
	if (!now_rules)
		return 0;
	__u32 index = first_rule(now_rules) & (SG_MAX_RULES - 1);
	__u32 slot = m.generation * SG_MAX_RULES + index;
	const struct rule *r = bpf_map_lookup_elem(&rules, &slot);
	if (!r)
		return 0;
	bool deny_rule = r->action == SG_ACTION_DENY;
	if (tier == SG_TIER_SIGNAL ? deny_rule && vetoed(v->nr) : !deny_rule)
		return 0;
	return generic_verdict(&m, &c, index, tier);
}

/*
 * A generic call at exit: the rules noted at its entry, judged on the
 * result. The caller was matched at entry; the policy may have changed
 * since, and the entry's generation is the one judged. The signal goes to
 * the thread returning from the call, before it runs its next
 * instruction in user space.
 *
 * The entry is the calling task's, not its tid's: a thread that execs
 * returns under the main thread's tid. An entry is judged only at the
 * exit of its own syscall (nr, the exit tracepoint's) and only by the task
 * that made it: an entry left behind by a call that never returns (exit,
 * exit_group, rt_sigreturn) may be found by a new task at the same
 * address, which was started after the entry was made: the entry is
 * dropped, never judged with another task's result and time.
 */
static __always_inline int generic_exit(__u32 nr, __s64 ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct task_struct *task = current_task();
	__u64 key = (__u64)task;
	struct inflight *f = bpf_map_lookup_elem(&inflight, &key);

	if (!f)
		return 0;
	if (f->nr != nr || f->entry_ns < BPF_CORE_READ(task, start_time)) {
		bpf_map_delete_elem(&inflight, &key);
		return 0;
	}
	struct syscall_values v = { .ret = ret, .latency_ns = bpf_ktime_get_ns() - f->entry_ns, .nr = f->nr, .at_exit = 1 };
	__builtin_memcpy(v.args, f->args, sizeof(v.args));
	__u64 rules_noted = f->rules;
	__u32 generation = f->generation & (SG_GENERATIONS - 1);
	bool same_policy = f->serial == *(volatile __u64 *)&policy_serial;
	bpf_map_delete_elem(&inflight, &key);
	if (!same_policy)
		return 0;

	struct matching m = { .generation = generation };
	m.p = bpf_map_lookup_elem(&policies, &generation);
	if (!m.p)
		return 0;
	__u64 matched = holding(rules_noted & m.p->rules, m.p->at_exit | m.p->conditioned, generation, &v, 1);
	if (!matched)
		return 0;
	struct call c = {
		.task = task,
		.syscall = SG_SYSCALL_GENERIC,
		.target = { .kind = SG_TARGET_NONE },
		.values = &v,
		.tgid = pid_tgid >> 32,
		.tid = tid,
	};
	__u64 uid_gid = bpf_get_current_uid_gid();
	c.uid = (__u32)uid_gid;
	c.gid = uid_gid >> 32;
	struct pid_namespace *ns = active_pid_ns(c.task);
	c.ns = ns;
	c.ns_level = BPF_CORE_READ(ns, level);
	return generic_verdict(&m, &c, first_rule(matched) & (SG_MAX_RULES - 1), SG_TIER_SIGNAL);
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int sg_generic_enter(struct trace_event_raw_sys_enter *ctx)
{
	/* The number is an int at offset 8: a load of the long vmlinux.h
	 * declares would reach past the record of a syscall without arguments. */
	struct syscall_values v = { .nr = *(__u32 *)((void *)ctx + offsetof(struct trace_event_raw_sys_enter, id)) };

	generic_enter(&v, (void *)ctx + offsetof(struct trace_event_raw_sys_enter, args), NULL, SG_TIER_SIGNAL);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_getppid")
int sg_generic_exit(struct trace_event_raw_sys_exit *ctx)
{
	generic_exit((__u32)ctx->id, ctx->ret);
	return 0;
}

/*
 * The deny tiers' veto of a generic syscall: an fmod_ret program on its
 * x86-64 function (__x64_sys_<name>), which takes the registers the task
 * entered with. User space loads one per syscall a deny rule names (the
 * section's function is a placeholder). A non-zero return skips the body
 * and is the call's result.
 */
SEC("fmod_ret/__x64_sys_getppid")
int BPF_PROG(sg_generic_veto, const struct pt_regs *regs, long ret)
{
	if (ret)
		return ret;
	struct syscall_values v = { .nr = (__u32)BPF_CORE_READ(regs, orig_ax) };

	return generic_enter(&v, NULL, regs, SG_TIER_FMOD_RET);
}
