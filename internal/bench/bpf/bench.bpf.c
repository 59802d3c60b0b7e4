//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The measuring side of `sigguard bench`, and the designs sigguard is
 * compared with. Everything is scoped to the bench's own cgroup.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define NR_PTRACE 101 /* x86-64 */

/* The bench cgroup, by id and level (bpf_get_current_ancestor_cgroup_id). */
volatile const __u64 cgroup_id = 0;
volatile const __u32 cgroup_level = 0;

/* tgid -> bpf_ktime_get_boot_ns() of its first ptrace call. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} first_call SEC(".maps");

/* tgid -> when it exited. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} exited SEC(".maps");

/* The classic design's hand-off: offenders to kill, polled by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} flagged SEC(".maps");

static __always_inline bool in_bench(void)
{
	return bpf_get_current_ancestor_cgroup_id(cgroup_level) == cgroup_id;
}

/* Timestamps the first offending call (a kernel clock, not user space's). */
SEC("tracepoint/syscalls/sys_enter_ptrace")
int bench_first_call(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 now = bpf_ktime_get_boot_ns();

	if (in_bench())
		bpf_map_update_elem(&first_call, &tgid, &now, BPF_NOEXIST);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(bench_exit, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	__u64 now = bpf_ktime_get_boot_ns();

	/* The leader exits last... or first: record the last thread out. */
	if (in_bench())
		bpf_map_update_elem(&exited, &tgid, &now, BPF_ANY);
	return 0;
}

/* The classic design: note the offender; user space polls and kills. */
SEC("tracepoint/syscalls/sys_enter_ptrace")
int bench_flag(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 now = bpf_ktime_get_boot_ns();

	if (in_bench())
		bpf_map_update_elem(&flagged, &tgid, &now, BPF_NOEXIST);
	return 0;
}

/*
 * For reference only: the matching part of a guard on the whole syscall
 * table, filtering by syscall number, for a caller it does not match (the
 * same case as "sigguard attached, caller not matching"). Every syscall of
 * every process runs it.
 */
SEC("raw_tracepoint/sys_enter")
int bench_whole_table(struct bpf_raw_tracepoint_args *ctx)
{
	if (ctx->args[1] != NR_PTRACE)
		return 0;
	return in_bench();
}

/*
 * The floor a hook is held against: on the same tracepoint, a program that
 * reads one field of its context and returns. What it costs is what any
 * program there costs, before it does anything of its own.
 */
SEC("tracepoint/syscalls/sys_enter_ptrace")
int floor_ptrace_entry(struct trace_event_raw_sys_enter *ctx)
{
	return ctx->args[0] == -1;
}

SEC("tracepoint/syscalls/sys_exit_ptrace")
int floor_ptrace_exit(struct trace_event_raw_sys_exit *ctx)
{
	return ctx->ret == -1;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int floor_openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return ctx->ret == -1;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(floor_process_exit, struct task_struct *p)
{
	return p->pid == 0;
}
