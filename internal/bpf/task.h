/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Reads of the kernel's task, pid and file objects. Every number sigguard
 * reports or matches on comes from these objects, never from a syscall's
 * argument: a pid means different tasks in different pid namespaces, and a
 * process has many threads.
 */
#pragma once

#define PROC_SUPER_MAGIC 0x9fa0
#define PID_FS_MAGIC 0x50494446        /* pidfds since Linux 6.9 (pidfs) */
#define ANON_INODE_FS_MAGIC 0x09041934 /* pidfds before that */

/*
 * task_struct.flags of io_uring's own threads (io-wq workers, the SQPOLL
 * thread): threads of the ring owner's process, sharing its files, memory
 * and cgroup, named iou-wrk-<tid> and iou-sqp-<tid>.
 */
#define PF_IO_WORKER 0x00000010

/* USER_HZ is 100 on every architecture sigguard builds for. */
#define SG_NSEC_PER_TICK 10000000ULL

static __always_inline struct task_struct *current_task(void)
{
	return (struct task_struct *)bpf_get_current_task();
}

/*
 * Small reads through a task held in a local struct: BPF_CORE_READ of
 * c->task would also relocate c's own (local, unknown to the kernel) type.
 */
static __always_inline __u32 task_tgid(struct task_struct *task)
{
	return BPF_CORE_READ(task, tgid);
}

static __always_inline __u32 task_tid(struct task_struct *task)
{
	return BPF_CORE_READ(task, pid);
}

static __always_inline __u32 parent_tgid(struct task_struct *task)
{
	return BPF_CORE_READ(task, real_parent, tgid);
}

/*
 * The id of a task's cgroup on the v2 (default) hierarchy: the id of the
 * cgroup directory's kernfs node, which is also its inode number and what
 * bpf_get_current_cgroup_id gives for the current task. The task's cgroup
 * is read where it is now (a thread moved since it started reports where
 * it went). kernfs_node.id has been a plain u64 since Linux 5.5, so one
 * read covers every supported kernel.
 */
static __always_inline __u64 task_cgroup_id(struct task_struct *task)
{
	return BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
}

static __always_inline struct pid *leader_pid(struct task_struct *task)
{
	return BPF_CORE_READ(task, group_leader, thread_pid);
}

/*
 * The caller's command name. An io_uring request may run on one of the
 * kernel's io_uring threads of the process, named after the thread, not
 * the program: rules and events take the process's name then.
 */
static __always_inline void caller_comm(char *comm)
{
	struct task_struct *task = current_task();

	if (BPF_CORE_READ(task, flags) & PF_IO_WORKER)
		bpf_probe_read_kernel_str(comm, SG_COMM_LEN, BPF_CORE_READ(task, group_leader, comm));
	else
		bpf_get_current_comm(comm, SG_COMM_LEN);
}

/* The sigguard reading the events, recognised by its pid and start time. */
static __always_inline bool is_sigguard(__u64 pid_tgid)
{
	if ((__u32)(pid_tgid >> 32) != self_tgid || self_tgid == 0)
		return false;
	__u64 start = BPF_CORE_READ(current_task(), group_leader, start_boottime);

	return start / SG_NSEC_PER_TICK == self_start_ticks;
}

/*
 * The file the caller's descriptor fd stands for now. Every open on the
 * machine comes here under memory-access, so from Linux 5.11 the
 * descriptor table is reached through a BTF pointer to the task, with
 * plain loads (the kernel fixes up a faulting one) rather than a
 * probe-read helper call per pointer; older kernels lack the helper, and
 * the branch that calls it is dropped at load.
 */
static __always_inline struct file *fd_file(int fd)
{
	struct file **fds;
	unsigned int max_fds;
	struct file *f = NULL;

	if (fd < 0)
		return NULL;
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)) {
		struct fdtable *fdt = bpf_get_current_task_btf()->files->fdt;
		fds = fdt->fd;
		max_fds = fdt->max_fds;
	} else {
		struct fdtable *fdt = BPF_CORE_READ(current_task(), files, fdt);
		fds = BPF_CORE_READ(fdt, fd);
		max_fds = BPF_CORE_READ(fdt, max_fds);
	}
	if ((unsigned int)fd >= max_fds)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* pid->numbers[level]: the pid's number and namespace at one nesting level. */
static __always_inline struct upid *upid_at(struct pid *pid, __u32 level)
{
	return (void *)pid + bpf_core_field_offset(struct pid, numbers) + level * sizeof(struct upid);
}

/* ns_of_pid: the namespace of a pid's deepest level, where it was made. */
static __always_inline struct pid_namespace *pid_ns_of(struct pid *pid)
{
	__u32 level = BPF_CORE_READ(pid, level) & 63;
	struct upid *up = upid_at(pid, level);

	return BPF_CORE_READ(up, ns);
}

/*
 * The pid namespace a task sees others in (task_active_pid_ns): the one
 * of its own pid's deepest level. Pids the task passes to syscalls are
 * numbers in this namespace.
 */
static __always_inline struct pid_namespace *active_pid_ns(struct task_struct *task)
{
	return pid_ns_of(BPF_CORE_READ(task, thread_pid));
}

/* pid_nr_ns: pid's number in ns, or 0 when the pid is not visible there. */
static __always_inline __s32 pid_nr_ns(struct pid *pid, struct pid_namespace *ns)
{
	__u32 level = BPF_CORE_READ(ns, level);

	if (!pid || level > BPF_CORE_READ(pid, level) || level > 63)
		return 0;
	struct upid *up = upid_at(pid, level);
	if (BPF_CORE_READ(up, ns) != ns)
		return 0;
	return BPF_CORE_READ(up, nr);
}

/* pid_task(pid, PIDTYPE_PID): the task whose own (thread) id pid is. */
static __always_inline struct task_struct *pid_task_of(struct pid *pid)
{
	struct hlist_node *first = BPF_CORE_READ(pid, tasks[0].first);

	if (!first)
		return NULL;
	return (void *)first - bpf_core_field_offset(struct task_struct, pid_links);
}

/*
 * A pid namespace keeps its pids in an IDR, a radix tree (xarray) indexed
 * by number. These follow xa_load: a node pointer is tagged 2 in its low
 * bits and lies above 4096; smaller tagged values are internal entries
 * (XA_ZERO_ENTRY marks a number alloc_pid reserved and has not attached a
 * pid to yet; XA_RETRY_ENTRY a node being freed under us).
 */
#define SG_XA_RETRY_ENTRY ((256UL << 2) | 2)
#define SG_MAX_XA_DEPTH 6 /* 64-way levels: covers the 2^22 pid_max limit twice over */

static __always_inline bool xa_is_node(unsigned long entry)
{
	return (entry & 3) == 2 && entry > 4096;
}

/* What an entry that is not a node says. */
static __always_inline __u8 xa_leaf(unsigned long entry, struct pid **out)
{
	if (entry == SG_XA_RETRY_ENTRY)
		return SG_TARGET_UNRESOLVED;
	if (!entry || (entry & 3) == 2)
		return SG_TARGET_MISSING;
	*out = (struct pid *)entry;
	return SG_TARGET_TASK;
}

/*
 * find_pid_ns(nr, ns) as the kernel does it for every syscall that takes a
 * pid: the struct pid numbered nr in ns. Returns SG_TARGET_TASK with *out
 * set, SG_TARGET_MISSING when ns has no such pid (the syscall will fail
 * with ESRCH), or SG_TARGET_UNRESOLVED when the tree could not be read.
 */
static __always_inline __u8 find_pid_ns(int nr, struct pid_namespace *ns, struct pid **out)
{
	unsigned int base = BPF_CORE_READ(ns, idr.idr_base);
	__u32 chunk = bpf_core_field_size(struct xa_node, slots) / sizeof(void *);
	unsigned long entry = (unsigned long)BPF_CORE_READ(ns, idr.idr_rt.xa_head);

	if (nr <= 0 || (unsigned int)nr < base)
		return SG_TARGET_MISSING;
	unsigned long index = (unsigned int)nr - base;
	/* A tree of one entry keeps it in the head, for index 0 only. */
	if (!xa_is_node(entry))
		return index ? SG_TARGET_MISSING : xa_leaf(entry, out);
	for (int depth = 0; depth < SG_MAX_XA_DEPTH; depth++) {
		struct xa_node *node = (struct xa_node *)(entry - 2);
		unsigned long offset = index >> BPF_CORE_READ(node, shift);
		void *slot = NULL;

		/* Past the top node's reach: no such index in the tree. */
		if (depth == 0 && offset >= chunk)
			return SG_TARGET_MISSING;
		offset &= chunk - 1;
		if (bpf_probe_read_kernel(&slot, sizeof(slot), (void *)node + bpf_core_field_offset(struct xa_node, slots) +
					  offset * sizeof(void *)))
			return SG_TARGET_UNRESOLVED;
		entry = (unsigned long)slot;
		if (!xa_is_node(entry))
			return xa_leaf(entry, out);
	}
	return SG_TARGET_UNRESOLVED;
}

/*
 * The struct pid of the process directory a /proc file lives in: a pid
 * entry's inode is embedded in a struct proc_inode that holds it. This is
 * the process the file gives access to, whichever pid namespace the proc
 * mount shows and whatever path led to the file.
 */
static __always_inline struct pid *proc_file_pid(struct file *f)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	struct proc_inode *pi = (void *)inode - bpf_core_field_offset(struct proc_inode, vfs_inode);

	return BPF_CORE_READ(pi, pid);
}

/*
 * Whether an open file is /proc/<pid>/mem or /proc/<pid>/task/<tid>/mem.
 * The name is read into one byte more than "mem" needs, so that "meminfo"
 * or "memory" is read as what it is and not cut to "mem".
 */
static __always_inline bool is_proc_mem(struct file *f)
{
	char name[5] = {};

	if (!f || BPF_CORE_READ(f, f_inode, i_sb, s_magic) != PROC_SUPER_MAGIC)
		return false;
	bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(f, f_path.dentry, d_name.name));
	return name[0] == 'm' && name[1] == 'e' && name[2] == 'm' && name[3] == 0;
}

/* The process a /proc/<pid>/mem file gives access to, or NULL for any other file. */
static __always_inline struct pid *proc_mem_pid(struct file *f)
{
	return is_proc_mem(f) ? proc_file_pid(f) : NULL;
}

/*
 * The struct pid a pidfd refers to, or NULL for a descriptor that is no
 * pidfd (pidfd_getfd then fails with EBADF). Since pidfs (6.9) the pid
 * hangs off the inode; before, pidfds were anonymous inodes named
 * "[pidfd]" with it in private_data.
 */
static __always_inline struct pid *pidfd_pid(struct file *f)
{
	char name[8] = {};
	__u64 got, want;

	if (!f)
		return NULL;
	switch (BPF_CORE_READ(f, f_inode, i_sb, s_magic)) {
	case PID_FS_MAGIC:
		return BPF_CORE_READ(f, f_inode, i_private);
	case ANON_INODE_FS_MAGIC:
		bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(f, f_path.dentry, d_name.name));
		__builtin_memcpy(&got, name, sizeof(got));
		__builtin_memcpy(&want, "[pidfd]", sizeof(want));
		return got == want ? BPF_CORE_READ(f, private_data) : NULL;
	}
	return NULL;
}
