//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sigguard's kernel side: where a syscall reaches another process, match
 * the caller against the policy, signal it from inside the kernel and
 * report the intervention through a ring buffer. Each concern lives in a
 * header of its own:
 *
 *	maps.h             every map and global, the counters
 *	task.h             reads of tasks, pids and files (pid namespaces)
 *	target.h           what a call reaches, resolved as the kernel does
 *	match.h            matching a call against the policy
 *	emit.h             events to user space
 *	judge.h            the verdict and the action
 *	routes_syscalls.h  the syscall routes' programs
 *	routes_uring.h     io_uring's route
 *	routes_generic.h   any syscall by number: its programs and verdict
 *	conditions.h       the generic route's argument, result and rate conditions
 *	syscalls_x86.h     the routes' table by x86 syscall number
 *	compat_x86.h       the 32-bit syscall hooks
 *	sharers.h          kills that reach every process sharing the descriptor table
 *	veto.h             the deny tiers (BPF LSM, fmod_ret)
 *	confirm.h          proof of kill and clean-up
 *	core_fixes.h       CO-RE shims for older kernels
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "sigguard.h"

/* bpf_send_signal and bpf_send_signal_thread are GPL-only helpers. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * Unused pointers that keep the shared enums in the object's BTF, so that
 * bpf2go generates their Go constants from this one definition.
 */
const enum action *unused_action __attribute__((unused));
const enum syscall_id *unused_syscall_id __attribute__((unused));
const enum event_kind *unused_event_kind __attribute__((unused));
const enum counter *unused_counter __attribute__((unused));
const enum rule_counter *unused_rule_counter __attribute__((unused));
const enum match_key *unused_match_key __attribute__((unused));
const struct kill *unused_kill __attribute__((unused));
const enum tier *unused_tier __attribute__((unused));
const enum target_kind *unused_target_kind __attribute__((unused));
const enum limit *unused_limit __attribute__((unused));
const struct cgroup_verdict_key *unused_cgroup_verdict_key __attribute__((unused));
const struct cgroup_verdict *unused_cgroup_verdict __attribute__((unused));
const struct generic_rule *unused_generic_rule __attribute__((unused));
const enum condition_op *unused_condition_op __attribute__((unused));
const enum rate_scope *unused_rate_scope __attribute__((unused));
const enum condition_field *unused_condition_field __attribute__((unused));

#include "maps.h"
#include "routes_syscalls.h"
#include "routes_uring.h"
#include "routes_generic.h"
#include "compat_x86.h"
#include "veto.h"
#include "confirm.h"
