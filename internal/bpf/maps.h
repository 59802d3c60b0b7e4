/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every map and global the programs share, and the counters: each of them
 * is defined here once, and only here.
 */
#pragma once

/*
 * The sigguard that reads the events: it is never matched, whatever the
 * rules say. Writable, not a load-time constant, because pinned programs
 * outlive the process that loaded them: a sigguard that adopts them writes
 * its own identity here, and one that exits clears it. The start time
 * (in the clock ticks of /proc/<pid>/stat) keeps a process that reuses a
 * crashed sigguard's pid from inheriting its exemption.
 */
__u32 self_tgid = 0;
__u64 self_start_ticks = 0;

/*
 * Set by user space once a deny-tier hook (lsm or fmod_ret) is attached:
 * from then on the calls that hook judges are left to it, so that none is
 * judged, and reported, twice.
 */
__u32 veto_hooked = 0;

/*
 * Waking the reader costs an interrupt and a context switch per event
 * (~1.2 us measured here, against ~0.45 us without). So an event wakes the
 * reader only if no event did in the last wakeup_interval_ns; the reader
 * picks up the others as it drains, or by its own short deadline after
 * a burst, so none waits for long and the reader never stalls.
 */
volatile const __u64 wakeup_interval_ns = 1000000;
__u64 last_wakeup_ns = 0;

/*
 * Bumped by user space each time the rules' cgroup ids change: a switch
 * to another generation, or a cgroup made again under a path a rule names.
 * A cached cgroup verdict from an older epoch is computed again.
 */
__u64 cgroup_epoch = 0;

/*
 * Bumped by user space after each switch of generation: a call noted at
 * entry under an earlier switch is not judged at its exit, whose rule bits
 * may by then name other rules in the same generation's slot.
 */
__u64 policy_serial = 0;

/*
 * The f_op of /proc/<pid>/mem files, or 0 until known. Every such file,
 * of any process and any proc mount, shares the kernel's one
 * proc_mem_operations, so a file with another f_op is no such file, and
 * an open costs one read more than its descriptor. The address is not in
 * kallsyms on most kernels: sigguard learns it by opening /proc/self/mem
 * itself, and only its own open may set it.
 */
__u64 proc_mem_fops = 0;

/*
 * The kills map's entries, counted by who ends them: noted when a kill is
 * recorded, ended by the exit that proves one, forgotten by user space
 * (a kill overdue). Each count has one kind of writer. Every exit on the
 * machine asks whether a kill is pending: with none (noted == ended +
 * forgotten, the usual case) it is answered from these words, without a
 * lookup in a large hash table that an exit finds cold.
 */
__u64 kills_noted = 0;
__u64 kills_ended = 0;
__u64 kills_forgotten = 0;

/* Whether any kill awaits its proof. Ended and forgotten are read first:
 * noted, read after, is then at least their sum, and more by every kill
 * recorded before this call began. */
static __always_inline bool kills_pending(void)
{
	__u64 done = *(volatile __u64 *)&kills_ended + *(volatile __u64 *)&kills_forgotten;

	return *(volatile __u64 *)&kills_noted != done;
}

/* active[0]: the generation in force. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} active SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SG_GENERATIONS);
	__type(key, __u32);
	__type(value, struct policy);
} policies SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SG_GENERATIONS * SG_MAX_RULES);
	__type(key, __u32);
	__type(value, struct rule);
} rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct matcher_key);
	__type(value, struct matcher_masks);
} matchers SEC(".maps");

/*
 * What the cgroup rules say of one cgroup: the rules that name it or one
 * of its ancestors. A cgroup's ancestors never change (cgroup v2 moves no
 * directory to another parent, and ids are never reused), so the walk up
 * its path is done once per cgroup, epoch and generation, not per call.
 * LRU: a machine making cgroups without end only evicts verdicts.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct cgroup_verdict_key);
	__type(value, struct cgroup_verdict);
} cgroup_verdicts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_MAX_PENDING_KILLS);
	__type(key, __u32);
	__type(value, struct kill);
} kills SEC(".maps");

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

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SG_GENERATIONS * SG_MAX_RULES * SG_RULE_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} rule_counters SEC(".maps");

/* The generic route's rules: generic_rules[generation * SG_MAX_RULES + i], rule i's conditions and limit. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SG_GENERATIONS * SG_MAX_RULES);
	__type(key, __u32);
	__type(value, struct generic_rule);
} generic_rules SEC(".maps");

/*
 * vetoed_syscalls[nr] is 1 while a deny tier's fmod_ret program is
 * attached to syscall nr's function: a deny rule that wins a call of nr is
 * then left to it, which refuses the call before its body runs.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SG_MAX_SYSCALL_NR);
	__type(key, __u32);
	__type(value, __u32);
} vetoed_syscalls SEC(".maps");

/*
 * Calls waiting for their exit, by task (its task_struct's address; not
 * its tid, which a thread that execs trades for the main thread's): a
 * task is in one syscall at a time. A thread killed inside a call still
 * runs the call's exit tracepoint, but a call that never returns (exit,
 * exit_group, rt_sigreturn) leaves its entry behind: the exit program
 * drops an entry of another syscall or older than the task that finds
 * it. LRU: under pressure the oldest entry goes, and its call is not
 * judged at exit.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, __u64);
	__type(value, struct inflight);
} inflight SEC(".maps");

/*
 * at_most's counts: one entry per rule, window and process (or thread,
 * cgroup, or the whole rule). An entry is made with BPF_NOEXIST, so two
 * CPUs starting one window share one count. Old windows age out (LRU).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct rate_key);
	__type(value, __u64);
} rate_windows SEC(".maps");

/*
 * What a pinned guard needs besides its programs' own maps: who reads its
 * events and what that reader has seen (pin_meta[0]), and the rule names of
 * each generation, so a sigguard that adopts the pins can name events and
 * counters of a policy it did not load. The programs never touch these.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pin_record);
} pin_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SG_GENERATIONS * SG_MAX_RULES);
	__type(key, __u32);
	__type(value, struct rule_name);
} rule_names SEC(".maps");

static __always_inline void count_in(void *map, __u32 index)
{
	__u64 *value = bpf_map_lookup_elem(map, &index);

	/*
	 * Per-CPU already; the atomic add costs next to nothing and stays
	 * correct should the program ever run preemptibly (as BPF programs on
	 * faultable tracepoints can).
	 */
	if (value)
		__sync_fetch_and_add(value, 1);
}

static __always_inline void count_rule(__u32 generation, __u32 rule, __u32 which)
{
	count_in(&rule_counters, (generation * SG_MAX_RULES + rule) * SG_RULE_COUNTER_MAX + which);
}
