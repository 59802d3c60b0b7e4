/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A descriptor outlives the kill of the process that opened it when
 * another process shares its descriptor table (clone with CLONE_FILES,
 * without CLONE_THREAD): SIGKILL ends a thread group, and the table, with
 * the descriptor to another process's memory in it, lives on in the
 * sharer. So the processes that share a table are noted when they are
 * made, and a kill for a call that hands out a descriptor reaches them
 * too, from the caller's own context, before its syscall returns.
 *
 * Signalling another task needs the bpf_send_signal_task kfunc (Linux
 * 6.13) and bpf_task_from_pid (6.2); the killer is a program of its own,
 * tail-called through sharer_killer, which user space fills only where
 * the kernel loads it. Elsewhere the slot stays empty, the tail call does
 * nothing, and sigguard says at start that sharers are not reached.
 */
#pragma once

#include "maps.h"
#include "task.h"

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym __weak;
extern int bpf_send_signal_task(struct task_struct *task, int sig, enum pid_type type, u64 value) __ksym __weak;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SG_MAX_SHARED_TABLES);
	__type(key, __u64); /* struct files_struct * */
	__type(value, struct sharers);
} shared_files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sharer_killer SEC(".maps");

/* Adds tgid to the list, unless it is there or the list is full. */
static __always_inline void add_sharer(struct sharers *s, __u32 tgid)
{
	for (int i = 0; i < SG_MAX_SHARERS; i++) {
		if (s->tgids[i] == tgid)
			return;
		if (!s->tgids[i]) {
			s->tgids[i] = tgid;
			return;
		}
	}
}

/*
 * A new process that shares its parent's descriptor table. Threads share
 * it too, but die with the caller; only other processes are noted.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(sg_note_sharing, struct task_struct *parent, struct task_struct *child)
{
	struct files_struct *files = BPF_CORE_READ(child, files);
	__u32 parent_tgid = BPF_CORE_READ(parent, tgid), child_tgid = BPF_CORE_READ(child, tgid);

	if (!files || files != BPF_CORE_READ(parent, files) || parent_tgid == child_tgid)
		return 0;
	__u64 key = (__u64)files;
	struct sharers fresh = {}, *s = bpf_map_lookup_elem(&shared_files, &key);
	if (!s) {
		bpf_map_update_elem(&shared_files, &key, &fresh, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&shared_files, &key);
		if (!s)
			return 0;
	}
	add_sharer(s, parent_tgid);
	add_sharer(s, child_tgid);
	return 0;
}

/* Whether the caller's descriptor table is shared with another process. */
static __always_inline bool files_shared(void)
{
	__u64 key = (__u64)BPF_CORE_READ(current_task(), files);

	return bpf_map_lookup_elem(&shared_files, &key) != NULL;
}

/*
 * After a SIGKILL for a call that hands out a descriptor: on to the
 * killer, when the table is shared and the kernel has one. A tail call
 * does not come back: this is the program's last act.
 */
static __always_inline void kill_sharers(void *ctx)
{
	if (files_shared())
		bpf_tail_call(ctx, &sharer_killer, 0);
}

/*
 * Every listed process whose table is still the caller's gets SIGKILL. A
 * stale entry (a process gone, its pid reused) has another table and is
 * left alone: the table is the object judged, not the number.
 */
SEC("tracepoint")
int sg_kill_sharers(void *ctx)
{
	struct files_struct *files = BPF_CORE_READ(current_task(), files);
	__u32 self = bpf_get_current_pid_tgid() >> 32;
	__u64 key = (__u64)files;
	struct sharers *s = bpf_map_lookup_elem(&shared_files, &key);

	if (!s)
		return 0;
	for (int i = 0; i < SG_MAX_SHARERS; i++) {
		__u32 tgid = s->tgids[i];
		if (!tgid || tgid == self)
			continue;
		struct task_struct *t = bpf_task_from_pid(tgid);
		if (!t)
			continue;
		if (BPF_CORE_READ(t, files) == files && !bpf_send_signal_task(t, SIGKILL, PIDTYPE_TGID, 0))
			count_in(&counters, SG_COUNTER_SHARERS);
		bpf_task_release(t);
	}
	return 0;
}
