/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * io_uring's way to /proc/<pid>/mem: open requests judged at completion,
 * and every request's descriptor lookup.
 */
#pragma once

#include "judge.h"
#include "core_fixes.h"

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

/* The opcode is read only for a /proc/<pid>/mem file. */
static __always_inline int guard_uring_file(struct file *f, struct io_kiocb *req)
{
	struct pid *pid = proc_mem_pid(f);

	if (!pid)
		return 0;
	guard_call(SG_SYSCALL_IO_URING, BPF_CORE_READ(req, opcode), target_pid(pid));
	return 0;
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
