//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sigguard's kernel side: where a syscall reaches another process, match
 * the caller against the policy, signal it from inside the kernel and
 * report the intervention through a ring buffer.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "sigguard.h"

/* bpf_send_signal and bpf_send_signal_thread are GPL-only helpers. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PROC_SUPER_MAGIC 0x9fa0

/* signal_struct.flags: the group stop has completed. */
#define SIGNAL_STOP_STOPPED 0x00000001
#define SIGSTOP 19

/* x86: thread_info.status bit set while a task runs a 32-bit syscall. */
#define TS_COMPAT 0x0002

/*
 * task_struct.flags of io_uring's own threads (io-wq workers, the SQPOLL
 * thread): threads of the ring owner's process, sharing its files, memory
 * and cgroup, named iou-wrk-<tid> and iou-sqp-<tid>.
 */
#define PF_IO_WORKER 0x00000010

#define EPERM 1

/* ia32 syscall numbers (arch/x86/entry/syscalls/syscall_32.tbl). */
#define IA32_OPEN 5
#define IA32_CREAT 8
#define IA32_PTRACE 26
#define IA32_OPENAT 295
#define IA32_PERF_EVENT_OPEN 336
#define IA32_PROCESS_VM_READV 347
#define IA32_PROCESS_VM_WRITEV 348
#define IA32_OPENAT2 437
#define IA32_PIDFD_GETFD 438

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
const struct identity *unused_identity __attribute__((unused));
const enum tier *unused_tier __attribute__((unused));

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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_MAX_IDENTITIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct identity);
} identities SEC(".maps");

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

/*
 * The caller's command name. An io_uring request may run on one of the
 * kernel's io_uring threads of the process, named after the thread, not
 * the program: rules and events take the process's name then.
 */
static __always_inline void caller_comm(char *comm)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	if (BPF_CORE_READ(task, flags) & PF_IO_WORKER)
		bpf_probe_read_kernel_str(comm, SG_COMM_LEN, BPF_CORE_READ(task, group_leader, comm));
	else
		bpf_get_current_comm(comm, SG_COMM_LEN);
}

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
	__s64 target;
};

/*
 * Narrows candidates to the rules whose every match list holds, and
 * collects in *exempt the rules an except list exempts. A key nobody uses
 * is neither read nor looked up.
 */
struct matching {
	const struct policy *p;
	__u32 generation;
	__u64 candidates;
	__u64 exempt;
};

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

/* The executable by device and inode: renaming or a new comm does not escape. */
static __always_inline void match_exe(struct matching *m, struct task_struct *task)
{
	if (!wanted(m, SG_KEY_EXE))
		return;
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);
	__u64 dev = BPF_CORE_READ(exe, f_inode, i_sb, s_dev);
	__u64 ino = BPF_CORE_READ(exe, f_inode, i_ino);
	match_value(m, SG_KEY_EXE, dev, ino);
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
 * A cgroup rule covers its whole subtree: try every level of the caller's
 * path (levels 0 to SG_MAX_CGROUP_DEPTH - 1, where rules can name one).
 * The path is walked up from the task's cgroup v2 with CO-RE reads rather
 * than with bpf_get_current_ancestor_cgroup_id: tracing programs may call
 * that helper only from Linux 5.14, and the guard must load on 5.10.
 */
static __always_inline void match_cgroups(struct matching *m, struct task_struct *task)
{
	__u64 hit = 0, except = 0;

	if (!wanted(m, SG_KEY_CGROUP))
		return;
	struct cgroup *cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	for (int i = 0; i < 64 && cg; i++) {
		int level = BPF_CORE_READ(cg, level);
		if (level >= 0 && level < SG_MAX_CGROUP_DEPTH)
			look_up(m->generation, SG_KEY_CGROUP, BPF_CORE_READ(cg, kn, id), 0, &hit, &except);
		if (level <= 0)
			break;
		/* self is struct cgroup's first member: its parent css is the parent cgroup. */
		cg = (struct cgroup *)BPF_CORE_READ(cg, self.parent);
	}
	settle(m, SG_KEY_CGROUP, hit, except);
}

/* Rules on what the call reaches: the target's executable and cgroups. */
static __always_inline void match_target_identity(struct matching *m, __s64 target)
{
	__u64 hit = 0, except = 0;

	if (!wanted(m, SG_KEY_TARGET_EXE) && !wanted(m, SG_KEY_TARGET_CGROUP))
		return;
	__u32 pid = (__u32)target;
	const struct identity *id = target > 0 ? bpf_map_lookup_elem(&identities, &pid) : NULL;

	/* An unknown target matches no target rule. */
	if (!id) {
		settle(m, SG_KEY_TARGET_EXE, 0, 0);
		settle(m, SG_KEY_TARGET_CGROUP, 0, 0);
		return;
	}
	match_value(m, SG_KEY_TARGET_EXE, id->exe_dev, id->exe_ino);
	if (!wanted(m, SG_KEY_TARGET_CGROUP))
		return;
	for (int level = 0; level < SG_MAX_CGROUP_DEPTH; level++) {
		if (!id->cgroups[level])
			break;
		look_up(m->generation, SG_KEY_TARGET_CGROUP, id->cgroups[level], 0, &hit, &except);
	}
	settle(m, SG_KEY_TARGET_CGROUP, hit, except);
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

static __always_inline __u64 wakeup_flags(__u64 now)
{
	/* Racy across CPUs on purpose: at worst two CPUs both wake the reader. */
	if (now - last_wakeup_ns < wakeup_interval_ns)
		return BPF_RB_NO_WAKEUP;
	last_wakeup_ns = now;
	return BPF_RB_FORCE_WAKEUP;
}

static __always_inline void report(const struct call *c, const struct rule *r, __u32 generation,
				   __u32 index, long result, __u64 now, __u8 tier, bool denied)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	/* A full ring buffer drops the event; the counter keeps the loss visible. */
	if (!e) {
		count_in(&counters, SG_COUNTER_EVENTS_LOST);
		return;
	}
	e->boot_ns = now;
	e->call_ns = now;
	e->request = c->request;
	e->target = c->target;
	e->tgid = c->tgid;
	e->tid = c->tid;
	e->ppid = c->ppid;
	e->uid = c->uid;
	e->gid = c->gid;
	e->signal = r->signal;
	e->result = result;
	e->syscall = c->syscall;
	e->kind = SG_EVENT_INTERVENTION;
	e->action = r->action;
	caller_comm(e->comm);
	e->rule = index;
	e->generation = generation;
	e->tier = tier;
	e->denied = denied;
	bpf_ringbuf_submit(e, wakeup_flags(now));
}

/*
 * Whether pid is a child the caller made itself: strace's probe child, the
 * command a tracer starts. Killing the caller would orphan it, stopped or in
 * pause(), so it goes too. Bounded: a caller with more children than this
 * keeps the rest.
 */
static __always_inline bool own_child(struct task_struct *task, __s64 pid)
{
	struct list_head *head = (struct list_head *)((void *)task + bpf_core_field_offset(struct task_struct, children));
	struct list_head *pos = BPF_CORE_READ(task, children.next);
	__u64 sibling = bpf_core_field_offset(struct task_struct, sibling);

	for (int i = 0; i < 64 && pos && pos != head; i++) {
		struct task_struct *child = (struct task_struct *)((void *)pos - sibling);
		if (BPF_CORE_READ(child, tgid) == pid)
			return true;
		pos = BPF_CORE_READ(pos, next);
	}
	return false;
}

/* USER_HZ is 100 on every architecture sigguard builds for. */
#define SG_NSEC_PER_TICK 10000000ULL

static __always_inline bool is_sigguard(__u64 pid_tgid)
{
	if ((__u32)(pid_tgid >> 32) != self_tgid || self_tgid == 0)
		return false;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 start = BPF_CORE_READ(task, group_leader, start_boottime);

	return start / SG_NSEC_PER_TICK == self_start_ticks;
}

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

/*
 * judge matches a call against the policy and acts on the rule that wins.
 * syscall is an enum syscall_id, possibly or'ed with SG_SYSCALL_COMPAT;
 * tier says which hook asks. It returns the verdict: -EPERM to refuse
 * (deny tiers only), else 0.
 */
static __always_inline int judge(__u16 syscall, __s64 request, __s64 target, __u8 tier)
{
	__u64 now = bpf_ktime_get_boot_ns();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 zero = 0;
	__u32 id = syscall & ~SG_SYSCALL_COMPAT;

	if (id >= SG_SYSCALL_MAX || is_sigguard(pid_tgid))
		return 0;
	if (tier == SG_TIER_SIGNAL && judged_by_veto(id, request))
		return 0;
	__u32 *active_generation = bpf_map_lookup_elem(&active, &zero);
	if (!active_generation)
		return 0;
	__u32 generation = *active_generation & (SG_GENERATIONS - 1);
	const struct policy *p = bpf_map_lookup_elem(&policies, &generation);
	if (!p)
		return 0;
	struct matching m = { .p = p, .generation = generation, .candidates = p->rules & p->syscalls[id] };
	if (!m.candidates)
		return 0;

	__u64 uid_gid = bpf_get_current_uid_gid();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct call c = {
		.task = task,
		.tgid = pid_tgid >> 32,
		.tid = (__u32)pid_tgid,
		.uid = (__u32)uid_gid,
		.gid = uid_gid >> 32,
		.syscall = syscall,
		.request = request,
		.target = target,
	};

	/*
	 * Cheapest and most selective first (rules are usually scoped by
	 * cgroup), and out as soon as no rule is left: most calls are not
	 * matched, and they should pay as little as possible.
	 */
	match_cgroups(&m, task);
	match_value(&m, SG_KEY_UID, c.uid, 0);
	match_value(&m, SG_KEY_REQUEST, (__u64)c.request, 0);
	match_value(&m, SG_KEY_TARGET_PID, (__u64)c.target, 0);
	if (!m.candidates)
		return 0;
	/* Two reads through the task: only when a rule or the event needs them. */
	if (wanted(&m, SG_KEY_PPID)) {
		c.ppid = BPF_CORE_READ(task, real_parent, tgid);
		match_value(&m, SG_KEY_PPID, c.ppid, 0);
	}
	match_comm(&m);
	match_exe(&m, task);
	match_ancestors(&m, task);
	match_target_identity(&m, c.target);

	__u64 matched = m.candidates & ~m.exempt;
	if (!matched)
		return 0;
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
		c.ppid = BPF_CORE_READ(task, real_parent, tgid);
	/* A SIGKILL the kernel took is proven by the exit that follows. */
	if (signals && r->signal == 9 && result == 0) {
		struct kill k = { .call_ns = now, .rule = index, .generation = generation, .syscall = syscall, .denied = denied };
		/* A refused attach touched no child: there is nothing to clean up. */
		if (!denied && (syscall & ~SG_SYSCALL_COMPAT) == SG_SYSCALL_PTRACE && c.target > 0 && own_child(task, c.target))
			k.reap = c.target;
		bpf_map_update_elem(&kills, &c.tgid, &k, BPF_NOEXIST);
	}
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
	report(&c, r, generation, index, result, now, tier, denied);
	return denied ? -EPERM : 0;
}

/* The tracepoints' entry to judge: they can signal, never refuse. */
static __always_inline int guard_call(__u16 syscall, __s64 request, __s64 target)
{
	judge(syscall, request, target, SG_TIER_SIGNAL);
	return 0;
}

/* The calling process's own pid or thread id: access to itself is no threat. */
static __always_inline bool is_self(__s64 pid)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	return pid == (__s64)(pid_tgid >> 32) || pid == (__s64)(__u32)pid_tgid;
}

static __always_inline struct file *fd_file(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	unsigned int max_fds = BPF_CORE_READ(fdt, max_fds);
	struct file *f = NULL;

	if (fd < 0 || (unsigned int)fd >= max_fds)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* Parses a /proc directory name ("1234") as a pid; -1 when it is not one. */
static __always_inline __s64 parse_pid(const char *name)
{
	char digits[12] = {};
	__s64 pid = 0;

	if (bpf_probe_read_kernel_str(digits, sizeof(digits), name) <= 1)
		return -1;
	for (int i = 0; i < (int)sizeof(digits); i++) {
		char ch = digits[i];
		if (ch == 0)
			return pid;
		if (ch < '0' || ch > '9')
			return -1;
		pid = pid * 10 + (ch - '0');
	}
	return -1;
}

/*
 * The pid whose memory an open file gives access to: a file named "mem"
 * in procfs whose directory is /proc/<pid> or /proc/<pid>/task/<tid>.
 * Judging the opened file rather than the path string leaves nothing to
 * relative paths, symlinks, dirfds or "//proc/./" spellings.
 */
static __always_inline __s64 proc_mem_target(struct file *f)
{
	char name[4] = {};

	if (!f || BPF_CORE_READ(f, f_inode, i_sb, s_magic) != PROC_SUPER_MAGIC)
		return -1;
	struct dentry *dentry = BPF_CORE_READ(f, f_path.dentry);
	bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(dentry, d_name.name));
	if (name[0] != 'm' || name[1] != 'e' || name[2] != 'm' || name[3] != 0)
		return -1;
	return parse_pid((const char *)BPF_CORE_READ(dentry, d_parent, d_name.name));
}

static __always_inline int guard_open(long fd, __u16 syscall)
{
	if (fd < 0)
		return 0;
	__s64 target = proc_mem_target(fd_file(fd));
	if (target <= 0 || is_self(target))
		return 0;
	/* At syscall exit: the SIGKILL lands before user space sees the fd. */
	return guard_call(syscall, 0, target);
}

/*
 * The process a pidfd refers to. Since pidfs (6.9) the struct pid hangs off
 * the inode; before, pidfds were anonymous inodes with it in private_data.
 */
static __always_inline __s64 pidfd_target(int pidfd)
{
	struct file *f = fd_file(pidfd);
	struct pid *pid;

	if (!f)
		return -1;
	pid = BPF_CORE_READ(f, f_inode, i_private);
	if (!pid)
		pid = BPF_CORE_READ(f, private_data);
	if (!pid)
		return -1;
	return BPF_CORE_READ(pid, numbers[0].nr);
}

SEC("tracepoint/syscalls/sys_enter_ptrace")
int sg_ptrace(struct trace_event_raw_sys_enter *ctx)
{
	/* The kernel takes the pid as a long and uses its low 32 bits: so must we. */
	return guard_call(SG_SYSCALL_PTRACE, (__s64)ctx->args[0], (__s64)(int)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_process_vm_readv")
int sg_vm_readv(struct trace_event_raw_sys_enter *ctx)
{
	__s64 target = (__s64)(int)ctx->args[0];

	return is_self(target) ? 0 : guard_call(SG_SYSCALL_PROCESS_VM_READV, 0, target);
}

SEC("tracepoint/syscalls/sys_enter_process_vm_writev")
int sg_vm_writev(struct trace_event_raw_sys_enter *ctx)
{
	__s64 target = (__s64)(int)ctx->args[0];

	return is_self(target) ? 0 : guard_call(SG_SYSCALL_PROCESS_VM_WRITEV, 0, target);
}

SEC("tracepoint/syscalls/sys_enter_pidfd_getfd")
int sg_pidfd_getfd(struct trace_event_raw_sys_enter *ctx)
{
	__s64 target = pidfd_target((int)ctx->args[0]);

	return is_self(target) ? 0 : guard_call(SG_SYSCALL_PIDFD_GETFD, 0, target);
}

/* pid 0 is the caller itself; -1 is every process on a CPU. */
SEC("tracepoint/syscalls/sys_enter_perf_event_open")
int sg_perf_open(struct trace_event_raw_sys_enter *ctx)
{
	__s64 target = (__s64)(int)ctx->args[1];

	if (target == 0 || is_self(target))
		return 0;
	return guard_call(SG_SYSCALL_PERF_EVENT_OPEN, 0, target);
}

SEC("tracepoint/syscalls/sys_exit_open")
int sg_open_exit(struct trace_event_raw_sys_exit *ctx)
{
	return guard_open(ctx->ret, SG_SYSCALL_OPEN);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int sg_openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return guard_open(ctx->ret, SG_SYSCALL_OPENAT);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int sg_creat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return guard_open(ctx->ret, SG_SYSCALL_CREAT);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int sg_openat2_exit(struct trace_event_raw_sys_exit *ctx)
{
	return guard_open(ctx->ret, SG_SYSCALL_OPENAT2);
}

/*
 * io_uring opens files without an open syscall: IORING_OP_OPENAT and
 * OPENAT2 run inline in io_uring_enter, or in an io-wq worker thread when
 * they would block, or in the SQPOLL thread. Every one of those is a
 * thread of the ring owner's process sharing its file table, so the
 * descriptor the open made is looked up in current->files as at syscall
 * exit, and the signal goes to the owner's whole thread group.
 */
#define IORING_OP_OPENAT 18
#define IORING_OP_OPENAT2 28
/* io_open.file_slot asking for any free fixed-file slot (IORING_FILE_INDEX_ALLOC). */
#define IO_FILE_INDEX_ALLOC 0xffffffffU
/* io_rsrc_node.file_ptr keeps flags in its low bits (FFS_NOWAIT, FFS_ISREG). */
#define IO_FILE_PTR_FLAGS 0x3UL

/* The fixed-file table as older kernels (6.12 and before) lay it out. */
struct io_fixed_file___old {
	unsigned long file_ptr;
} __attribute__((preserve_access_index));

struct io_file_table___old {
	struct io_fixed_file___old *files;
} __attribute__((preserve_access_index));

struct io_ring_ctx___old {
	struct io_file_table___old file_table;
	unsigned int nr_user_files;
} __attribute__((preserve_access_index));

/*
 * The file in a ring's fixed-file slot: an open with a file_index puts
 * its file there ("direct descriptor") and no descriptor in the table.
 * Newer kernels keep a node per slot; older ones an array of pointers.
 */
static __always_inline struct file *fixed_file(struct io_ring_ctx *ctx, __u32 slot)
{
	unsigned long file_ptr = 0;

	if (bpf_core_field_exists(ctx->file_table.data)) {
		struct io_rsrc_node **nodes = BPF_CORE_READ(ctx, file_table.data.nodes);
		struct io_rsrc_node *node = NULL;

		if (slot >= BPF_CORE_READ(ctx, file_table.data.nr))
			return NULL;
		bpf_probe_read_kernel(&node, sizeof(node), &nodes[slot]);
		if (node)
			file_ptr = BPF_CORE_READ(node, file_ptr);
	} else {
		struct io_ring_ctx___old *old = (void *)ctx;
		struct io_fixed_file___old *files = BPF_CORE_READ(old, file_table.files);

		if (slot >= BPF_CORE_READ(old, nr_user_files))
			return NULL;
		bpf_probe_read_kernel(&file_ptr, sizeof(file_ptr), &files[slot].file_ptr);
	}
	return (struct file *)(file_ptr & ~IO_FILE_PTR_FLAGS);
}

/* The file a completed io_uring open made: res is a descriptor, or a slot. */
static __always_inline struct file *uring_opened(struct io_ring_ctx *ctx, struct io_kiocb *req, __s32 res)
{
	/* The request's command data is struct io_open (io_kiocb_to_cmd). */
	struct io_open *open = (void *)req + bpf_core_field_offset(struct io_kiocb, cmd);
	__u32 slot = BPF_CORE_READ(open, file_slot);

	if (slot == 0)
		return fd_file(res);
	/* A slot given as index + 1 completes with 0; an allocated one with its index. */
	return fixed_file(ctx, slot == IO_FILE_INDEX_ALLOC ? res : slot - 1);
}

/* The opcode is read only for a /proc/<pid>/mem of another process. */
static __always_inline int guard_uring_file(struct file *f, struct io_kiocb *req)
{
	__s64 target = proc_mem_target(f);

	if (target <= 0 || is_self(target))
		return 0;
	return guard_call(SG_SYSCALL_IO_URING, BPF_CORE_READ(req, opcode), target);
}

/*
 * Every completion posted to a ring passes here, in whichever thread
 * posts it (the submitter, an io-wq worker, the SQPOLL thread). Only
 * open requests go further than two reads (this says which), and only
 * theirs have their result read. A request flagged
 * IOSQE_CQE_SKIP_SUCCESS posts nothing on success and is not seen here.
 */
static __always_inline bool uring_open_completed(struct io_kiocb *req)
{
	/*
	 * In a deny tier (veto_hooked) judge() leaves SG_SYSCALL_IO_URING to
	 * the veto (judged_by_veto), which refuses io_uring's access to
	 * /proc/<pid>/mem at the kernel's ptrace access check: the io_uring
	 * hooks have nothing to do, so they leave before reading anything.
	 */
	if (veto_hooked)
		return false;
	/* Completions not tied to a request (multishot extras) have none. */
	if (!req)
		return false;
	__u8 opcode = BPF_CORE_READ(req, opcode);
	return opcode == IORING_OP_OPENAT || opcode == IORING_OP_OPENAT2;
}

/* A completed open: only a successful one made a file. */
static __always_inline int uring_completed(struct io_ring_ctx *ring, struct io_kiocb *req, __s32 res)
{
	if (res < 0)
		return 0;
	return guard_uring_file(uring_opened(ring, req, res), req);
}

/* The tracepoint as newer kernels have it (6.18 here): the completion entry. */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(sg_uring_complete, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	if (!uring_open_completed(req))
		return 0;
	return uring_completed(ring, req, BPF_CORE_READ(cqe, res));
}

/*
 * The tracepoint as older kernels have it (6.12, for one): the result as
 * an argument. User space attaches the one whose shape the kernel has.
 */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(sg_uring_complete_res, void *ring, void *req, __u64 user_data, int res)
{
	if (!uring_open_completed(req))
		return 0;
	return uring_completed(ring, req, res);
}

/*
 * A request that uses a plain descriptor (READ, WRITE, ...) looks it up
 * here, before it runs: this catches a /proc/<pid>/mem descriptor whose
 * open posted no completion (IOSQE_CQE_SKIP_SUCCESS). Fixed-file lookups
 * have no tracepoint. The kill is pending on every thread when this
 * returns, yet it is no veto: /proc/<pid>/mem has no non-blocking I/O, so
 * the request goes on to an io-wq worker, and a worker takes SIGKILL off
 * its pending set when it sees it, then may still run queued work before
 * it exits. Measured here, such a write landed in 3 of 10 tries.
 */
SEC("tp_btf/io_uring_file_get")
int BPF_PROG(sg_uring_file_get, struct io_kiocb *req, int fd)
{
	/* Nothing to do in a deny tier: see uring_open_completed. */
	if (veto_hooked)
		return 0;
	return guard_uring_file(fd_file(fd), req);
}

/*
 * 32-bit syscalls (int $0x80, or a 32-bit program) fire no syscalls:*
 * tracepoint. These whole-table hooks run on every syscall of every
 * process, so they are attached only on request, and most calls leave at
 * the first comparison: only eight syscall numbers go further, and only
 * those read the task. The numbers are ia32 ones; a native syscall with the
 * same number is told apart by TS_COMPAT.
 */
static __always_inline bool in_compat_syscall(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(task, thread_info.status) & TS_COMPAT;
}

/* ia32 arguments travel in bx, cx, dx, si, di, bp. */
SEC("tp_btf/sys_enter")
int BPF_PROG(sg_compat_enter, struct pt_regs *regs, long id)
{
	switch (id) {
	case IA32_PTRACE:
	case IA32_PROCESS_VM_READV:
	case IA32_PROCESS_VM_WRITEV:
	case IA32_PIDFD_GETFD:
	case IA32_PERF_EVENT_OPEN:
		break;
	default:
		return 0;
	}
	if (!in_compat_syscall())
		return 0;
	__s64 a0 = (__s32)regs->bx;
	__s64 a1 = (__s32)regs->cx;

	switch (id) {
	case IA32_PTRACE:
		return guard_call(SG_SYSCALL_PTRACE | SG_SYSCALL_COMPAT, a0, a1);
	case IA32_PROCESS_VM_READV:
		return is_self(a0) ? 0 : guard_call(SG_SYSCALL_PROCESS_VM_READV | SG_SYSCALL_COMPAT, 0, a0);
	case IA32_PROCESS_VM_WRITEV:
		return is_self(a0) ? 0 : guard_call(SG_SYSCALL_PROCESS_VM_WRITEV | SG_SYSCALL_COMPAT, 0, a0);
	case IA32_PIDFD_GETFD: {
		__s64 target = pidfd_target((int)a0);
		return is_self(target) ? 0 : guard_call(SG_SYSCALL_PIDFD_GETFD | SG_SYSCALL_COMPAT, 0, target);
	}
	case IA32_PERF_EVENT_OPEN:
		if (a1 == 0 || is_self(a1))
			return 0;
		return guard_call(SG_SYSCALL_PERF_EVENT_OPEN | SG_SYSCALL_COMPAT, 0, a1);
	}
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sg_compat_exit, struct pt_regs *regs, long ret)
{
	__u16 syscall;

	if (ret < 0)
		return 0;
	switch (regs->orig_ax) {
	case IA32_OPEN:
		syscall = SG_SYSCALL_OPEN;
		break;
	case IA32_OPENAT:
		syscall = SG_SYSCALL_OPENAT;
		break;
	case IA32_OPENAT2:
		syscall = SG_SYSCALL_OPENAT2;
		break;
	case IA32_CREAT:
		syscall = SG_SYSCALL_CREAT;
		break;
	default:
		return 0;
	}
	if (!in_compat_syscall())
		return 0;
	return guard_open(ret, syscall | SG_SYSCALL_COMPAT);
}

/*
 * The deny tiers. Every route to another process's memory passes the
 * kernel's ptrace access check (__ptrace_may_access, which skips the
 * caller's own thread group before asking the LSMs): PTRACE_ATTACH and
 * SEIZE, process_vm_readv/writev, opens of /proc/<pid>/mem, pidfd_getfd
 * and perf_event_open of a pid. A BPF LSM program there (lsm=...,bpf), or
 * fmod_ret on security_ptrace_access_check where BPF LSM is not active,
 * refuses the access before anything happens. The hook does not say which
 * syscall asked, so it is read from the registers the task entered with.
 */
#define PTRACE_MODE_ATTACH 0x02

/* x86-64 syscall numbers. */
#define NR_OPEN 2
#define NR_CREAT 85
#define NR_PTRACE 101
#define NR_OPENAT 257
#define NR_PERF_EVENT_OPEN 298
#define NR_PROCESS_VM_READV 310
#define NR_PROCESS_VM_WRITEV 311
#define NR_OPENAT2 437
#define NR_PIDFD_GETFD 438
/* The same number in the ia32 table. */
#define NR_IO_URING_ENTER 426

/* The registers the current task entered the kernel with. */
static __always_inline struct pt_regs *entry_regs(struct task_struct *task)
{
	/*
	 * The helper wants a BTF pointer to the task, which
	 * bpf_get_current_task() is not: 6.1 and 6.12 reject the program
	 * ("R1 type=scalar expected=ptr_"). bpf_get_current_task_btf() is
	 * older than the helper (5.11).
	 */
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs))
		return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	/*
	 * Before Linux 5.15 there is no helper; x86-64 keeps them at the top
	 * of the 16 KiB task stack (no padding before FRED, which came in 6.9).
	 */
	void *stack = BPF_CORE_READ(task, stack);
	return (struct pt_regs *)(stack + 16384) - 1;
}

/* The guarded syscall a syscall number is, or 0. */
static __always_inline __u16 route_of(long nr, bool compat)
{
	if (compat) {
		switch (nr) {
		case IA32_PTRACE: return SG_SYSCALL_PTRACE | SG_SYSCALL_COMPAT;
		case IA32_PROCESS_VM_READV: return SG_SYSCALL_PROCESS_VM_READV | SG_SYSCALL_COMPAT;
		case IA32_PROCESS_VM_WRITEV: return SG_SYSCALL_PROCESS_VM_WRITEV | SG_SYSCALL_COMPAT;
		case IA32_PIDFD_GETFD: return SG_SYSCALL_PIDFD_GETFD | SG_SYSCALL_COMPAT;
		case IA32_PERF_EVENT_OPEN: return SG_SYSCALL_PERF_EVENT_OPEN | SG_SYSCALL_COMPAT;
		case IA32_OPEN: return SG_SYSCALL_OPEN | SG_SYSCALL_COMPAT;
		case IA32_OPENAT: return SG_SYSCALL_OPENAT | SG_SYSCALL_COMPAT;
		case IA32_OPENAT2: return SG_SYSCALL_OPENAT2 | SG_SYSCALL_COMPAT;
		case IA32_CREAT: return SG_SYSCALL_CREAT | SG_SYSCALL_COMPAT;
		}
		return 0;
	}
	switch (nr) {
	case NR_PTRACE: return SG_SYSCALL_PTRACE;
	case NR_PROCESS_VM_READV: return SG_SYSCALL_PROCESS_VM_READV;
	case NR_PROCESS_VM_WRITEV: return SG_SYSCALL_PROCESS_VM_WRITEV;
	case NR_PIDFD_GETFD: return SG_SYSCALL_PIDFD_GETFD;
	case NR_PERF_EVENT_OPEN: return SG_SYSCALL_PERF_EVENT_OPEN;
	case NR_OPEN: return SG_SYSCALL_OPEN;
	case NR_OPENAT: return SG_SYSCALL_OPENAT;
	case NR_OPENAT2: return SG_SYSCALL_OPENAT2;
	case NR_CREAT: return SG_SYSCALL_CREAT;
	}
	return 0;
}

/*
 * An io_uring request reaches the check inline in io_uring_enter, or on
 * one of io_uring's threads (whose entry registers are zeroed: they never
 * entered from user space). Which opcode asked is not known here.
 */
static __always_inline bool in_io_uring(struct task_struct *task, long nr)
{
	return nr == NR_IO_URING_ENTER || (BPF_CORE_READ(task, flags) & PF_IO_WORKER);
}

static __always_inline int veto(struct task_struct *child, unsigned int mode, __u8 tier)
{
	/*
	 * Reading /proc/<pid>/stat and the like checks in READ mode: only the
	 * checks that grant control or memory (ATTACH) are judged. Most
	 * checks are READ ones, so this goes before any read of the task.
	 */
	if (!(mode & PTRACE_MODE_ATTACH))
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	bool compat = BPF_CORE_READ(task, thread_info.status) & TS_COMPAT;
	struct pt_regs *regs = entry_regs(task);
	long nr = BPF_CORE_READ(regs, orig_ax);
	__u16 syscall = route_of(nr, compat);

	if (!syscall && in_io_uring(task, nr))
		syscall = SG_SYSCALL_IO_URING;
	__u32 id = syscall & ~SG_SYSCALL_COMPAT;
	__s64 request = 0;

	/*
	 * perf_event_open is judged at its tracepoint (see judged_by_veto).
	 * route_of names it so that it is left here, never taken for an
	 * io_uring thread's call.
	 */
	if (!syscall || id == SG_SYSCALL_PERF_EVENT_OPEN)
		return 0;
	if (id == SG_SYSCALL_PTRACE)
		request = compat ? (__s64)(__s32)BPF_CORE_READ(regs, bx) : (__s64)BPF_CORE_READ(regs, di);
	return judge(syscall, request, BPF_CORE_READ(child, tgid), tier);
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(sg_veto_lsm, struct task_struct *child, unsigned int mode, int ret)
{
	/* An earlier LSM's refusal stands. */
	if (ret)
		return ret;
	return veto(child, mode, SG_TIER_LSM);
}

SEC("fmod_ret/security_ptrace_access_check")
int BPF_PROG(sg_veto_fmod_ret, struct task_struct *child, unsigned int mode, int ret)
{
	/* Non-zero skips the LSMs and is returned as their verdict. */
	if (ret)
		return ret;
	return veto(child, mode, SG_TIER_FMOD_RET);
}

/*
 * Identity tracking, attached only when a rule names a target's executable
 * or cgroup. It costs fork, exec, exit and cgroup moves, not syscalls.
 */

/* Fills cgroups[level] for every level of cg's path that fits. */
static __always_inline void read_cgroups(struct cgroup *cg, struct identity *id)
{
	for (int i = 0; i < 64 && cg; i++) {
		int level = BPF_CORE_READ(cg, level);
		if (level >= 0 && level < SG_MAX_CGROUP_DEPTH)
			id->cgroups[level] = BPF_CORE_READ(cg, kn, id);
		if (level <= 0)
			break;
		/* self is struct cgroup's first member: its parent css is the parent cgroup. */
		cg = (struct cgroup *)BPF_CORE_READ(cg, self.parent);
	}
}

static __always_inline void remember(struct task_struct *task, struct cgroup *cg)
{
	struct identity id = {};
	__u32 pid = BPF_CORE_READ(task, pid);
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);

	id.exe_dev = BPF_CORE_READ(exe, f_inode, i_sb, s_dev);
	id.exe_ino = BPF_CORE_READ(exe, f_inode, i_ino);
	read_cgroups(cg, &id);
	if (bpf_map_update_elem(&identities, &pid, &id, BPF_ANY))
		count_in(&counters, SG_COUNTER_UNTRACKED);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sg_track_fork, struct task_struct *parent, struct task_struct *child)
{
	remember(child, BPF_CORE_READ(child, cgroups, dfl_cgrp));
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sg_track_exec, struct task_struct *p)
{
	remember(p, BPF_CORE_READ(p, cgroups, dfl_cgrp));
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sg_track_exit, struct task_struct *p)
{
	__u32 pid = BPF_CORE_READ(p, pid);

	bpf_map_delete_elem(&identities, &pid);
	return 0;
}

/* Fires for every hierarchy; only cgroup v2's (hierarchy id 0) matters. */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(sg_track_cgroup, struct cgroup *dst, const char *path, struct task_struct *task)
{
	if (BPF_CORE_READ(dst, root, hierarchy_id) != 0)
		return 0;
	remember(task, dst);
	return 0;
}

/*
 * Proof of kill: the exit of a process sigguard sent SIGKILL to. It runs on
 * every thread's exit; signal->live reaches 0, just before this
 * tracepoint, for the last thread of the group only.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(sg_confirm_exit, struct task_struct *p)
{
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	__u32 tgid = BPF_CORE_READ(p, tgid);
	struct kill *found = bpf_map_lookup_elem(&kills, &tgid);
	if (!found)
		return 0;
	struct kill copy = *found, *k = &copy;
	/* Two threads may both see live == 0: only the one that deletes reports. */
	if (bpf_map_delete_elem(&kills, &tgid))
		return 0;
	count_in(&counters, SG_COUNTER_CONFIRMED);
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_in(&counters, SG_COUNTER_EVENTS_LOST);
		return 0;
	}
	__u64 now = bpf_ktime_get_boot_ns();
	__builtin_memset(e, 0, sizeof(*e));
	e->boot_ns = now;
	e->call_ns = k->call_ns;
	e->tgid = tgid;
	e->tid = BPF_CORE_READ(p, pid);
	e->ppid = BPF_CORE_READ(p, real_parent, tgid);
	e->signal = 9;
	e->syscall = k->syscall;
	e->kind = SG_EVENT_EXITED;
	e->action = SG_ACTION_SIGNAL_PROCESS;
	e->rule = k->rule;
	e->generation = k->generation;
	e->resume = k->resume;
	e->reap = k->reap;
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), p->comm);
	bpf_ringbuf_submit(e, wakeup_flags(now));
	return 0;
}

/*
 * PTRACE_ATTACH stops its victim with a SIGSTOP sent by the attacher. If
 * sigguard has just SIGKILLed the attacher, the victim stays stopped, with
 * no tracer, until someone sends SIGCONT. Note it, but only if it was not
 * stopped already: a process someone had stopped stays stopped.
 */
SEC("tp_btf/signal_generate")
int BPF_PROG(sg_note_stop, int sig, struct kernel_siginfo *info, struct task_struct *victim)
{
	if (sig != SIGSTOP)
		return 0;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct kill *k = bpf_map_lookup_elem(&kills, &tgid);
	/* A refused attach sends no SIGSTOP: any other stop is not ours to end. */
	if (!k || k->denied || (k->syscall & ~SG_SYSCALL_COMPAT) != SG_SYSCALL_PTRACE)
		return 0;
	if (BPF_CORE_READ(victim, signal, flags) & SIGNAL_STOP_STOPPED)
		return 0;
	k->resume = BPF_CORE_READ(victim, tgid);
	return 0;
}
