//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sigguard's kernel side: at the entry of a guarded syscall, match the caller
 * against the rules, signal it from inside the kernel and report the
 * intervention through a ring buffer.
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

/* sigguard's own thread group: it is never matched, whatever the rules say. */
volatile const __u32 self_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SG_MAX_RULES);
	__type(key, __u32);
	__type(value, struct rule);
} rules SEC(".maps");

/* Size set from user space before load; must be a power of two pages. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__type(value, struct event);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SG_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *value = bpf_map_lookup_elem(&counters, &which);

	/*
	 * Per-CPU, but a syscall tracepoint program can be preempted by another
	 * task running the same program on this CPU, so the add stays atomic.
	 */
	if (value)
		__sync_fetch_and_add(value, 1);
}

static __always_inline bool rule_matches(const struct rule *r, __u32 ppid)
{
	if (r->ppid && r->ppid != ppid)
		return false;
	/*
	 * The ancestor at the rule's level is the rule's cgroup exactly when the
	 * caller lives in that cgroup or below it.
	 */
	if (r->cgroup_id && bpf_get_current_ancestor_cgroup_id(r->cgroup_level) != r->cgroup_id)
		return false;
	return true;
}

/* Returns the index of the first rule that matches, or -1. */
static __always_inline int first_matching_rule(__u32 ppid, struct rule **out)
{
	for (__u32 i = 0; i < SG_MAX_RULES; i++) {
		struct rule *r = bpf_map_lookup_elem(&rules, &i);

		if (!r || !r->in_use)
			return -1;
		if (rule_matches(r, ppid)) {
			*out = r;
			return i;
		}
	}
	return -1;
}

/*
 * The helpers only queue the signal (through irq_work here): 0 means queued,
 * not dead. A SIGKILL queued at syscall entry is delivered before the call
 * returns to user space, but the syscall body still runs: this is no veto.
 */
static __always_inline long act(const struct rule *r)
{
	switch (r->action) {
	case SG_ACTION_SIGNAL_PROCESS:
		return bpf_send_signal(r->signal);
	case SG_ACTION_SIGNAL_THREAD:
		return bpf_send_signal_thread(r->signal);
	default:
		return 0;
	}
}

static __always_inline void report(const struct rule *r, __u32 rule_index, __u16 syscall,
				   __s64 request, __s64 target, __u32 ppid, long result, __u64 now)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	/* A full ring buffer drops the event; the counter keeps the loss visible. */
	if (!e) {
		count(SG_COUNTER_EVENTS_LOST);
		return;
	}

	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	e->boot_ns = now;
	e->request = request;
	e->target = target;
	e->tgid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->ppid = ppid;
	e->uid = (__u32)uid_gid;
	e->gid = uid_gid >> 32;
	e->signal = r->signal;
	e->result = result;
	e->syscall = syscall;
	e->kind = SG_EVENT_INTERVENTION;
	e->action = r->action;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->rule = rule_index;
	e->flags = 0;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int guard_syscall(__u16 syscall, __s64 request, __s64 target)
{
	__u64 now = bpf_ktime_get_boot_ns();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (tgid == self_tgid)
		return 0;

	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 ppid = BPF_CORE_READ(task, real_parent, tgid);
	struct rule *r = NULL;
	int index = first_matching_rule(ppid, &r);

	if (index < 0 || !r)
		return 0;

	/* Signal first: every instruction before it widens the window. */
	long result = act(r);

	count(SG_COUNTER_MATCHED);
	if (r->action != SG_ACTION_AUDIT)
		count(result == 0 ? SG_COUNTER_SIGNALLED : SG_COUNTER_SEND_FAILED);
	report(r, index, syscall, request, target, ppid, result, now);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_ptrace")
int sigguard_ptrace(struct trace_event_raw_sys_enter *ctx)
{
	return guard_syscall(SG_SYSCALL_PTRACE, (__s64)ctx->args[0], (__s64)ctx->args[1]);
}
