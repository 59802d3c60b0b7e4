/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one definition of everything the kernel side and user space share.
 * bpf2go turns these into Go types (internal/bpf/guard_bpfel.go); user space
 * never re-declares them by hand.
 */
#pragma once

#define SG_COMM_LEN 16

/*
 * Rules are bits in a 64-bit mask: the kernel looks up, for each property
 * of the caller, the set of rules that name it, and the lowest rule left
 * standing wins. Cost does not grow with the number of rules.
 */
#define SG_MAX_RULES 64

/*
 * Two generations of the whole policy live in the maps at once; a reload
 * fills the inactive one, then flips `active` in one map write.
 */
#define SG_GENERATIONS 2

/* Bounds of the kernel side's walks; user space reads them from here. */
enum limit {
	SG_MAX_ANCESTOR_DEPTH = 32, /* parents walked for "ancestor" */
	SG_MAX_CGROUP_DEPTH = 16,   /* cgroup levels (0 to 15) a rule can name */
};

/* What a matching rule does to the caller. */
enum action {
	SG_ACTION_AUDIT = 0,          /* signal nothing, only report */
	SG_ACTION_SIGNAL_PROCESS = 1, /* bpf_send_signal: the whole thread group */
	SG_ACTION_SIGNAL_THREAD = 2,  /* bpf_send_signal_thread: the calling thread */
	SG_ACTION_DENY = 3,           /* refuse the call, signal nothing; where the
				       * tier cannot refuse, the rule's signal (SIGKILL) */
};

/*
 * How a hook enforces. The deny tiers refuse a call in the kernel's ptrace
 * access check, before it takes effect; the signal tier can only signal
 * the caller at syscall entry or exit.
 */
enum tier {
	SG_TIER_SIGNAL = 0,   /* tracepoints + bpf_send_signal */
	SG_TIER_FMOD_RET = 1, /* fmod_ret on security_ptrace_access_check */
	SG_TIER_LSM = 2,      /* BPF LSM program on ptrace_access_check */
};

/* Syscalls the guard hooks, numbered by sigguard (not by the architecture). */
enum syscall_id {
	SG_SYSCALL_PTRACE = 1,
	SG_SYSCALL_PROCESS_VM_READV = 2,
	SG_SYSCALL_PROCESS_VM_WRITEV = 3,
	SG_SYSCALL_PIDFD_GETFD = 4,
	SG_SYSCALL_PERF_EVENT_OPEN = 5,
	SG_SYSCALL_OPEN = 6,    /* of /proc/<pid>/mem, judged on the opened file */
	SG_SYSCALL_OPENAT = 7,  /* likewise */
	SG_SYSCALL_OPENAT2 = 8, /* likewise */
	SG_SYSCALL_CREAT = 9,   /* likewise: creat() opens for writing */
	SG_SYSCALL_IO_URING = 10, /* an io_uring request on /proc/<pid>/mem; request: the opcode */
	SG_SYSCALL_GENERIC = 11,  /* any syscall, by its number (event.nr), with argument and result conditions */
	SG_SYSCALL_MAX = 12,
	/* Or'ed into event.syscall when the call came through the 32-bit entry. */
	SG_SYSCALL_COMPAT = 0x100,
};

/* Properties of a call that rules match on. */
enum match_key {
	SG_KEY_UID = 0,        /* a: uid */
	SG_KEY_COMM = 1,       /* a, b: the 16 comm bytes */
	SG_KEY_EXE = 2,        /* a: kernel dev_t, b: inode of the caller's executable */
	SG_KEY_PPID = 3,       /* a: real parent's tgid */
	SG_KEY_ANCESTOR = 4,   /* a: tgid of any ancestor */
	SG_KEY_CGROUP = 5,     /* a: cgroup v2 id of the caller's cgroup or an ancestor */
	SG_KEY_REQUEST = 6,    /* a: ptrace request */
	SG_KEY_TARGET_PID = 7, /* a: host pid (thread group id) of the process the call reaches */
	SG_KEY_TARGET_EXE = 8, /* a: dev_t, b: inode of the target's executable */
	SG_KEY_TARGET_CGROUP = 9, /* a: the target thread's cgroup v2 id or an ancestor's */
	SG_KEY_MAX = 10,
};

/*
 * Processes that share one descriptor table (clone with CLONE_FILES and
 * without CLONE_THREAD): shared_files[files_struct address] lists them, so
 * that a kill for a descriptor reaches every process that holds it.
 */
#define SG_MAX_SHARERS 8
#define SG_MAX_SHARED_TABLES 4096

struct sharers {
	__u32 tgids[SG_MAX_SHARERS]; /* host pids; 0: free; may be stale, checked at use */
};

/* Most SIGKILLs awaiting the exit that proves them (see struct kill). */
#define SG_MAX_PENDING_KILLS 16384

/*
 * What a call reaches, as the kernel resolves it: the task behind the pid
 * the call names (in the caller's pid namespace), behind the pidfd, or
 * behind the /proc/<pid> directory of the opened file.
 */
enum target_kind {
	SG_TARGET_NONE = 0,       /* no other process (PTRACE_TRACEME) */
	SG_TARGET_TASK = 1,       /* a task of another process */
	SG_TARGET_EVERY = 2,      /* every process (perf_event_open of pid -1, or of a cgroup) */
	SG_TARGET_MISSING = 3,    /* no task has that number in the caller's pid namespace: the call fails */
	SG_TARGET_UNRESOLVED = 4, /* the kernel's tables could not be read: target rules hold */
};

/* What an event reports. */
enum event_kind {
	SG_EVENT_INTERVENTION = 1,
	SG_EVENT_EXITED = 2, /* a process sigguard sent SIGKILL to has exited */
};

/* Indexes of the per-CPU counters; user space sums the CPUs. */
enum counter {
	SG_COUNTER_MATCHED = 0,     /* calls that matched a rule (audit included) */
	SG_COUNTER_SIGNALLED = 1,   /* signals the kernel accepted (helper returned 0) */
	SG_COUNTER_SEND_FAILED = 2, /* signals the kernel refused (helper returned -errno) */
	SG_COUNTER_EVENTS_LOST = 3, /* events dropped because the ring buffer was full */
	SG_COUNTER_UNRESOLVED = 4,  /* calls whose target could not be read (target rules held) */
	SG_COUNTER_CONFIRMED = 5,   /* SIGKILLs followed by the process's exit */
	SG_COUNTER_DENIED = 6,      /* calls refused in a deny tier */
	SG_COUNTER_SHARERS = 7,     /* processes killed for sharing a killed caller's descriptor table */
	SG_COUNTER_HELD_BACK = 8,   /* matched calls a rule's at_most held back: no signal, no event */
	SG_COUNTER_MAX = 9,
};

/* Per-rule counters: rule_counters[(generation * SG_MAX_RULES + rule) * SG_RULE_COUNTER_MAX + c]. */
enum rule_counter {
	SG_RULE_MATCHED = 0,
	SG_RULE_SIGNALLED = 1,
	SG_RULE_SEND_FAILED = 2,
	SG_RULE_DENIED = 3,
	SG_RULE_HELD_BACK = 4,
	SG_RULE_COUNTER_MAX = 5,
};

/* x86-64 syscall numbers are below this: struct policy's generic[] is indexed by them. */
#define SG_MAX_SYSCALL_NR 512

/* One generation of the policy: which rules exist, and what each one uses. */
struct policy {
	__u64 rules;                     /* bit i: rule i is in force */
	__u64 syscalls[SG_SYSCALL_MAX];  /* bit i: rule i guards this syscall */
	__u64 uses[SG_KEY_MAX];          /* bit i: rule i lists values of this key under match */
	__u64 excepts[SG_KEY_MAX];       /* bit i: rule i lists values of this key under except */
	__u64 conditioned;               /* bit i: rule i has argument conditions (struct generic_rule) */
	__u64 at_exit;                   /* bit i: rule i is judged at syscall exit (result conditions) */
	__u64 limited;                   /* bit i: rule i has a rate limit (at_most) */
	__u64 generic[SG_MAX_SYSCALL_NR]; /* by x86-64 number: the rules the generic route judges the syscall for */
};

/* rules[generation * SG_MAX_RULES + i]: what rule i does. */
struct rule {
	__u32 signal;
	__u8 action;      /* enum action */
	__u8 reserved;
	__u16 deny_errno; /* the errno a deny rule's veto of a generic syscall returns */
};

/*
 * The generic route: any syscall, by its x86-64 number. Its programs are
 * attached only to the tracepoints of the syscalls some rule names, so a
 * syscall no rule names runs none of them.
 */
#define SG_MAX_CONDITIONS 4
#define SG_MAX_CONDITION_VALUES 8
#define SG_MAX_SYSCALL_ARGS 6

/* How a condition compares. */
enum condition_op {
	SG_COND_NONE = 0,     /* unused slot */
	SG_COND_EQUALS = 1,   /* the value is one of values[0..count) */
	SG_COND_ANY_BITS = 2, /* value & values[0] != 0 */
	SG_COND_ALL_BITS = 3, /* value & values[0] == values[0] */
	SG_COND_RANGE = 4,    /* values[0] <= value <= values[1], signed if is_signed */
};

/* What a condition looks at: argument 0 to 5, or the return value. */
enum condition_field {
	SG_FIELD_RET = 6,
};

/*
 * One condition. The kernel's syscall body sees an argument as its
 * declared C type: an int is the low 32 bits of the register, sign
 * extended, whatever the caller put in the upper half. The value is
 * narrowed the same way before it is compared; user space stores the
 * values narrowed alike.
 */
struct condition {
	__u8 op;        /* enum condition_op */
	__u8 field;     /* 0..5: argument; SG_FIELD_RET: the return value */
	__u8 bits;      /* 64, 32, 16 or 8 */
	__u8 is_signed; /* sign-extend from bits */
	__u8 count;     /* SG_COND_EQUALS: values used */
	__u8 reserved[3];
	__u64 values[SG_MAX_CONDITION_VALUES];
};

/* Whose calls a rate limit counts together. */
enum rate_scope {
	SG_RATE_PROCESS = 0,
	SG_RATE_THREAD = 1,
	SG_RATE_RULE = 2,
	SG_RATE_CGROUP = 3,
};

/* generic_rules[generation * SG_MAX_RULES + i]: rule i's conditions and limit. */
struct generic_rule {
	struct condition conditions[SG_MAX_CONDITIONS];
	__u64 slower_than_ns; /* 0: none; else a result condition on the time from entry to exit */
	__u64 rate_period_ns; /* at_most: at most rate_count per window of this length; 0: no limit */
	__u32 rate_count;
	__u8 rate_scope;      /* enum rate_scope */
	__u8 reserved[3];
};

/* rate_windows' key: one window of one rule's limit, for one process, thread, cgroup or all. */
struct rate_key {
	__u64 scope_id; /* tgid, tid, cgroup id, or 0 */
	__u64 window;   /* boot time / rate_period_ns */
	__u32 slot;     /* generation * SG_MAX_RULES + rule */
	__u32 reserved;
};

/* inflight[task]: a call some rule judged at exit still waits for, since its entry. */
struct inflight {
	__u64 entry_ns;
	__u64 rules; /* the rules the caller and the arguments matched */
	__u64 args[SG_MAX_SYSCALL_ARGS];
	__u64 serial; /* policy_serial at entry: a policy switched since is not judged with */
	__u32 generation;
	__u32 nr;
};

/* A property value named by some rule, in one generation. */
struct matcher_key {
	__u32 generation;
	__u32 key;     /* enum match_key */
	__u64 a;
	__u64 b;
};

/* Rules that name the value, under match and under except. */
struct matcher_masks {
	__u64 match;
	__u64 except;
};

/* cgroup_verdicts' key: a cgroup, for the caller's or the target's cgroup rules. */
struct cgroup_verdict_key {
	__u64 cgroup_id;
	__u32 key;        /* SG_KEY_CGROUP or SG_KEY_TARGET_CGROUP */
	__u32 reserved;
};

/* The rules that name a cgroup or an ancestor, as of one epoch and generation. */
struct cgroup_verdict {
	__u64 epoch;
	__u64 match;
	__u64 except;
	__u32 generation;
	__u32 reserved;
};

/* kills[tgid]: a SIGKILL the kernel accepted, until the process exits. */
struct kill {
	__u64 call_ns;    /* when the offending syscall entered */
	__u32 rule;
	__u32 generation;
	__u32 resume;     /* a process the call stopped that was running before: SIGCONT it */
	__u32 reap;       /* the caller's own child the call targeted: kill it too */
	__u16 syscall;    /* enum syscall_id, with SG_SYSCALL_COMPAT */
	__u8 denied;      /* the call was refused: it stopped no one, targeted no one */
	__u8 reserved;
	__u32 nr;         /* SG_SYSCALL_GENERIC: the syscall's number */
};

/* 200 bytes, no implicit padding: target_nr ends at offset 112, where the ids start aligned. */
struct event {
	__u64 boot_ns;    /* bpf_ktime_get_boot_ns() when the hook ran */
	__u64 call_ns;    /* SG_EVENT_EXITED: when the offending syscall entered */
	__s64 request;    /* ptrace: the request; io_uring: the opcode (0 from a deny tier); else 0 */
	__s64 target;     /* the target process's host pid (thread group id); -1: every process; 0: none */
	__u32 tgid;
	__u32 tid;
	__u32 ppid;       /* tgid of the real parent */
	__u32 uid;
	__u32 gid;
	__u32 signal;     /* the signal the rule names (also in audit mode) */
	__s32 result;     /* 0: the kernel queued the signal; else -errno from the helper */
	__u16 syscall;    /* enum syscall_id */
	__u8 kind;        /* enum event_kind */
	__u8 action;      /* enum action */
	char comm[SG_COMM_LEN];
	__u32 rule;       /* index of the matching rule in its generation */
	__u32 generation; /* the policy generation that matched */
	__u32 resume;     /* SG_EVENT_EXITED: the kill's struct kill.resume */
	__u32 reap;       /* SG_EVENT_EXITED: the kill's struct kill.reap */
	__u8 tier;        /* enum tier of the hook that judged the call */
	__u8 denied;      /* the call was refused (-EPERM) */
	__u8 target_kind; /* enum target_kind */
	__u8 reserved;
	__u32 ns_tgid;    /* the caller's pid in its own pid namespace */
	__u32 target_tid; /* the target thread's host id */
	__s32 target_nr;  /* the target's pid as the caller's pid namespace names it; 0: not there */
	__u64 cgroup_id;        /* the caller's cgroup v2 id (kernfs node id); for SG_EVENT_EXITED, the exited process's */
	__u64 target_cgroup_id; /* SG_TARGET_TASK: the target thread's cgroup v2 id; else 0 */
	__u64 args[SG_MAX_SYSCALL_ARGS]; /* SG_SYSCALL_GENERIC: the arguments, as the registers held them */
	__s64 ret;        /* judged at exit: what the call returned */
	__u64 latency_ns; /* judged at exit: from the call's entry to its exit */
	__u32 nr;         /* SG_SYSCALL_GENERIC: the x86-64 syscall number */
	__u8 at_exit;     /* judged at syscall exit */
	__u8 reserved2[3];
};
_Static_assert(sizeof(struct event) == 200, "struct event has implicit padding or grew");

#define SG_RULE_NAME_LEN 64

/* rule_names[generation * SG_MAX_RULES + i]: rule i's name, cut to fit. */
struct rule_name {
	char name[SG_RULE_NAME_LEN];
};

/*
 * pin_meta[0] of a pinned guard. Its presence marks a complete pin: it is
 * written after every map and link.
 */
struct pin_record {
	__u8 object[32];                 /* sha256 of the BPF object the maps were made for */
	__u8 policy[SG_GENERATIONS][32]; /* sha256 of each generation's compiled policy */
	__u32 reader_tgid;               /* the sigguard reading the events; 0: none */
	__u32 tier;                      /* enum tier the guard runs in */
	__u64 reader_seen_ns;            /* boot-clock time the reader last reported */
	__u64 seen[SG_COUNTER_MAX];      /* the counters as that reader last reported them */
};
