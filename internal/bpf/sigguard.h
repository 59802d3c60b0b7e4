/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one definition of everything the kernel side and user space share.
 * bpf2go turns these into Go types (internal/bpf/guard_bpfel.go); user space
 * never re-declares them by hand.
 */
#pragma once

#define SG_COMM_LEN 16

/* Rules are tried in order and the first match wins. */
#define SG_MAX_RULES 32

/* What a matching rule does to the caller. */
enum action {
	SG_ACTION_AUDIT = 0,          /* signal nothing, only report */
	SG_ACTION_SIGNAL_PROCESS = 1, /* bpf_send_signal: the whole thread group */
	SG_ACTION_SIGNAL_THREAD = 2,  /* bpf_send_signal_thread: the calling thread */
};

/* Syscalls the guard hooks, numbered by sigguard (not by the architecture). */
enum syscall_id {
	SG_SYSCALL_PTRACE = 1,
};

/* What an event reports. */
enum event_kind {
	SG_EVENT_INTERVENTION = 1,
};

/* Indexes of the per-CPU counters; user space sums the CPUs. */
enum counter {
	SG_COUNTER_MATCHED = 0,     /* calls that matched a rule (audit included) */
	SG_COUNTER_SIGNALLED = 1,   /* signals the kernel accepted (helper returned 0) */
	SG_COUNTER_SEND_FAILED = 2, /* signals the kernel refused (helper returned -errno) */
	SG_COUNTER_EVENTS_LOST = 3, /* events dropped because the ring buffer was full */
	SG_COUNTER_MAX = 4,
};

struct rule {
	__u64 cgroup_id;    /* 0: any; else this cgroup v2 directory and everything below it */
	__u32 cgroup_level; /* depth of cgroup_id under the root, for the ancestor lookup */
	__u32 ppid;         /* 0: any; else only direct children of this thread group */
	__u32 signal;       /* signal sent by SG_ACTION_SIGNAL_* */
	__u8 action;        /* enum action */
	__u8 in_use;        /* 0 ends the rule list */
	__u8 reserved[2];
};

struct event {
	__u64 boot_ns;  /* bpf_ktime_get_boot_ns() at syscall entry */
	__s64 request;  /* ptrace: the request (first argument) */
	__s64 target;   /* ptrace: the pid argument */
	__u32 tgid;
	__u32 tid;
	__u32 ppid;     /* tgid of the real parent */
	__u32 uid;
	__u32 gid;
	__u32 signal;   /* the signal the rule names (also in audit mode) */
	__s32 result;   /* 0: the kernel queued the signal; else -errno from the helper */
	__u16 syscall;  /* enum syscall_id */
	__u8 kind;      /* enum event_kind */
	__u8 action;    /* enum action */
	char comm[SG_COMM_LEN];
	__u32 rule;     /* index of the matching rule */
	__u32 flags;    /* reserved, 0 */
};
