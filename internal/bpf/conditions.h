/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The generic route's conditions (routes_generic.h): the rules naming a
 * syscall number, a rule's argument and result conditions, judged on the
 * values the syscall's body sees, and at_most's rate windows.
 */
#pragma once

#include "judge.h"

/*
 * The rules of the generation in force that name syscall nr, or 0: as a
 * route's, two lookups, and nothing else read for a call no rule names.
 */
static __always_inline __u64 generic_candidates(__u32 nr, struct matching *m)
{
	__u32 generation = 0;
	const struct policy *p = active_policy(&generation);

	barrier_var(nr);
	if (!p || nr >= SG_MAX_SYSCALL_NR)
		return 0;
	m->p = p;
	m->generation = generation;
	return p->rules & p->generic[nr];
}

/* The value as the syscall's body sees its declared type. */
static __always_inline __u64 narrow(__u64 v, __u8 bits, __u8 is_signed)
{
	switch (bits) {
	case 32:
		return is_signed ? (__u64)(__s64)(__s32)v : (__u32)v;
	case 16:
		return is_signed ? (__u64)(__s64)(__s16)v : (__u16)v;
	case 8:
		return is_signed ? (__u64)(__s64)(__s8)v : (__u8)v;
	}
	return v;
}

/*
 * 1 when condition ci of the rule in slot fails for value, 0 when it
 * holds or does not apply in this phase (at_exit: the result's conditions;
 * else the arguments'). ci SG_MAX_CONDITIONS is the rule's slower_than,
 * for the value latency. A global function: the verifier checks it once,
 * and its callers see an opaque result they fold in without branching,
 * which keeps their loops from multiplying the verifier's states.
 */
__noinline int condition_fails(__u32 slot, __u32 ci, __u64 value, __u32 at_exit)
{
	const struct generic_rule *gr = bpf_map_lookup_elem(&generic_rules, &slot);

	const struct condition *c;

	if (!gr)
		return 0;
	switch (ci) {
	case 0: c = &gr->conditions[0]; break;
	case 1: c = &gr->conditions[1]; break;
	case 2: c = &gr->conditions[2]; break;
	case 3: c = &gr->conditions[3]; break;
	case SG_MAX_CONDITIONS: return at_exit && value < gr->slower_than_ns;
	default: return 0;
	}
	if (c->op == SG_COND_NONE || (c->field == SG_FIELD_RET) != (at_exit != 0))
		return 0;
	__u64 v = narrow(value, c->bits, c->is_signed);

	switch (c->op) {
	case SG_COND_EQUALS:
		for (int i = 0; i < SG_MAX_CONDITION_VALUES; i++)
			if (i < c->count && v == c->values[i])
				return 0;
		return 1;
	case SG_COND_ANY_BITS:
		return (v & c->values[0]) == 0;
	case SG_COND_ALL_BITS:
		return (v & c->values[0]) != c->values[0];
	case SG_COND_RANGE:
		if (c->is_signed)
			return (__s64)v < (__s64)c->values[0] || (__s64)v > (__s64)c->values[1];
		return v < c->values[0] || v > c->values[1];
	}
	return 1;
}

static __always_inline __u64 field_value(const struct syscall_values *v, __u8 field)
{
	switch (field) {
	case 0: return v->args[0];
	case 1: return v->args[1];
	case 2: return v->args[2];
	case 3: return v->args[3];
	case 4: return v->args[4];
	case 5: return v->args[5];
	}
	return (__u64)v->ret;
}

/* 1 when some condition of this phase of the rule in slot fails (see condition_fails). */
static __always_inline __u64 rule_fails(__u32 slot, const struct syscall_values *v, __u32 at_exit)
{
	const struct generic_rule *gr = bpf_map_lookup_elem(&generic_rules, &slot);
	__u64 fails = 0;

	if (!gr)
		return 1;
	if (at_exit && gr->slower_than_ns)
		fails |= condition_fails(slot, SG_MAX_CONDITIONS, v->latency_ns, at_exit);
	for (__u32 ci = 0; ci < SG_MAX_CONDITIONS; ci++) {
		/* Conditions fill their slots in order: the first unused ends them. */
		if (gr->conditions[ci].op == SG_COND_NONE)
			break;
		fails |= condition_fails(slot, ci, field_value(v, gr->conditions[ci].field), at_exit);
	}
	return fails & 1;
}

/*
 * The rules in mask whose conditions of this phase hold, of those that
 * have any (conditioned). Every bit is visited, and a failing rule's bit
 * is cleared by arithmetic, not a branch: the verifier then sees the same
 * state after each bit whatever the rules said, and checks the loop once
 * per bit instead of once per combination of outcomes.
 */
static __always_inline __u64 holding(__u64 mask, __u64 conditioned, __u32 generation,
				     const struct syscall_values *v, __u32 at_exit)
{
	__u64 check = mask & conditioned;

	for (__u32 i = 0; i < SG_MAX_RULES; i++) {
		__u64 bit = 1ULL << i;
		if (!(check >> i))
			break; /* no rule left at i or above */
		if (!(check & bit))
			continue;
		mask &= ~(bit & -rule_fails(generation * SG_MAX_RULES + i, v, at_exit));
	}
	return mask;
}

/*
 * at_most: whether the rule in slot may act once more in the current
 * window, counting this call. The count is added to, then read: two CPUs
 * adding at once may both read the other's addition and both hold back,
 * never both act past the limit.
 */
static __always_inline bool within_rate(__u32 slot, const struct call *c, __u64 now)
{
	const struct generic_rule *gr = bpf_map_lookup_elem(&generic_rules, &slot);

	if (!gr || !gr->rate_period_ns)
		return true;
	struct rate_key k = { .window = now / gr->rate_period_ns, .slot = slot };
	switch (gr->rate_scope) {
	case SG_RATE_PROCESS:
		k.scope_id = c->tgid;
		break;
	case SG_RATE_THREAD:
		k.scope_id = c->tid;
		break;
	case SG_RATE_CGROUP:
		k.scope_id = bpf_get_current_cgroup_id();
		break;
	}
	__u64 *count = bpf_map_lookup_elem(&rate_windows, &k);
	if (!count) {
		__u64 zero = 0;
		bpf_map_update_elem(&rate_windows, &k, &zero, BPF_NOEXIST);
		count = bpf_map_lookup_elem(&rate_windows, &k);
		if (!count)
			return false;
	}
	__sync_fetch_and_add(count, 1);
	return *(volatile __u64 *)count <= gr->rate_count;
}

