// Package uring submits io_uring requests with raw syscalls: just enough
// for sigguard's attack programs and its cost measurements, without a
// dependency. One ring, one thread, no registered buffers.
package uring

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Opcodes and flags of include/uapi/linux/io_uring.h that sigguard uses.
const (
	OpNop     = 0
	OpOpenat  = 18
	OpRead    = 22
	OpWrite   = 23
	OpOpenat2 = 28

	// SQE flags.
	FlagFixedFile   = 1 << 0 // FD is a fixed-file slot
	FlagLink        = 1 << 2 // the next SQE starts only after this one succeeded
	FlagAsync       = 1 << 4 // issue from an io-wq worker thread, never inline
	FlagCQESkipOnOK = 1 << 6 // post no completion when the request succeeds

	// Setup flags.
	SetupSQPoll = 1 << 1 // a kernel thread of the process polls the ring

	// FeatNativeWorkers says io-wq workers are threads of the ring owner's
	// process (Linux 5.12); before, they were kernel threads.
	FeatNativeWorkers = 1 << 9
	// FeatCQESkip says the kernel knows FlagCQESkipOnOK (Linux 5.17).
	FeatCQESkip = 1 << 11
	// FeatLinkedFile says a linked request looks its file up when it is
	// issued, not when it is submitted (Linux 5.17).
	FeatLinkedFile = 1 << 12
)

const (
	enterGetEvents = 1 << 0
	enterSQWakeup  = 1 << 1

	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000

	registerFiles = 2
)

// params is struct io_uring_params: what setup takes and tells.
type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqOffsets
	cqOff                                                                  cqOffsets
}

// sqOffsets is struct io_sqring_offsets: where in the mapped submission
// ring each field lives; array holds the indexes of queued SQEs.
type sqOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

// cqOffsets is struct io_cqring_offsets, for the completion ring.
type cqOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

// SQE is struct io_uring_sqe, 64 bytes. Off doubles as addr2 (OPENAT2's
// struct open_how), OpFlags as open_flags and rw_flags, FileIndex as the
// fixed-file slot plus one an open fills (0: a normal descriptor).
type SQE struct {
	Opcode      uint8
	Flags       uint8
	IOPrio      uint16
	FD          int32
	Off         uint64
	Addr        uint64
	Len         uint32
	OpFlags     uint32
	UserData    uint64
	BufIndex    uint16
	Personality uint16
	FileIndex   uint32
	Addr3       uint64
	pad         uint64
}

// CQE is struct io_uring_cqe: Res is the result or -errno.
type CQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

// Ring is one io_uring instance, mapped.
type Ring struct {
	fd          int
	p           params
	sq, cq, mem []byte
	sqes        []SQE
	sqlen       uint32
}

// New sets up a ring with room for entries requests.
func New(entries uint32, flags uint32) (*Ring, error) {
	r := &Ring{}
	r.p.flags = flags
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&r.p)), 0)
	if errno != 0 {
		return nil, &SetupError{Errno: errno}
	}
	r.fd = int(fd)
	if err := r.mapRings(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// SetupError is New's error when io_uring_setup itself fails; errors.Is
// sees its errno.
type SetupError struct{ Errno unix.Errno }

func (e *SetupError) Error() string {
	return "io_uring_setup: " + e.Errno.Error() + " (kernel.io_uring_disabled may forbid it)"
}

func (e *SetupError) Unwrap() error { return e.Errno }

// Unavailable says whether err is New's io_uring_setup refused because
// this kernel has no io_uring (ENOSYS) or denies it to the caller (EPERM:
// kernel.io_uring_disabled). Any other error is a failure to report.
func Unavailable(err error) bool {
	var se *SetupError
	return errors.As(err, &se) && (se.Errno == unix.ENOSYS || se.Errno == unix.EPERM)
}

func (r *Ring) mapRings() (err error) {
	sqSize := int(r.p.sqOff.array + r.p.sqEntries*4)
	cqSize := int(r.p.cqOff.cqes + r.p.cqEntries*uint32(unsafe.Sizeof(CQE{})))
	if r.sq, err = r.mmap(offSQRing, sqSize); err != nil {
		return err
	}
	if r.cq, err = r.mmap(offCQRing, cqSize); err != nil {
		return err
	}
	if r.mem, err = r.mmap(offSQEs, int(r.p.sqEntries)*int(unsafe.Sizeof(SQE{}))); err != nil {
		return err
	}
	r.sqes = unsafe.Slice((*SQE)(unsafe.Pointer(&r.mem[0])), r.p.sqEntries)
	return nil
}

func (r *Ring) mmap(offset int64, size int) ([]byte, error) {
	b, err := unix.Mmap(r.fd, offset, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("map io_uring ring at %#x: %w", offset, err)
	}
	return b, nil
}

// Features are the IORING_FEAT_* bits the kernel reported at setup.
func (r *Ring) Features() uint32 { return r.p.features }

// Close unmaps and closes the ring.
func (r *Ring) Close() error {
	for _, b := range [][]byte{r.sq, r.cq, r.mem} {
		if b != nil {
			unix.Munmap(b)
		}
	}
	return unix.Close(r.fd)
}

func (r *Ring) word(ring []byte, off uint32) *uint32 {
	return (*uint32)(unsafe.Pointer(&ring[off]))
}

// Queue puts requests in the submission ring; Enter hands them over.
func (r *Ring) Queue(sqes ...SQE) error {
	tail := atomic.LoadUint32(r.word(r.sq, r.p.sqOff.tail))
	head := atomic.LoadUint32(r.word(r.sq, r.p.sqOff.head))
	if tail-head+uint32(len(sqes)) > r.p.sqEntries {
		return fmt.Errorf("io_uring: submission ring full")
	}
	mask := *r.word(r.sq, r.p.sqOff.ringMask)
	for _, sqe := range sqes {
		i := tail & mask
		r.sqes[i] = sqe
		*r.word(r.sq, r.p.sqOff.array+4*i) = i
		tail++
	}
	// The kernel reads the entries once it sees the new tail.
	atomic.StoreUint32(r.word(r.sq, r.p.sqOff.tail), tail)
	r.sqlen += uint32(len(sqes))
	return nil
}

// Enter submits what Queue queued and waits until at least wait
// completions are posted. With SQPOLL the kernel thread submits; entering
// wakes it should it have gone idle.
func (r *Ring) Enter(wait uint32) error {
	flags := uintptr(0)
	if wait > 0 {
		flags |= enterGetEvents
	}
	if r.p.flags&SetupSQPoll != 0 {
		flags |= enterSQWakeup
	}
	for {
		_, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(r.sqlen), uintptr(wait), flags, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return fmt.Errorf("io_uring_enter: %w", errno)
		}
		r.sqlen = 0
		// A signal (the Go runtime's preemption, say) cuts the wait short
		// without an error once the submission went through: wait again,
		// submitting nothing, until the completions are there.
		if r.ready() >= wait {
			return nil
		}
	}
}

// ready is how many completions are posted and not yet reaped.
func (r *Ring) ready() uint32 {
	return atomic.LoadUint32(r.word(r.cq, r.p.cqOff.tail)) - *r.word(r.cq, r.p.cqOff.head)
}

// Reap takes every posted completion off the completion ring.
func (r *Ring) Reap() []CQE {
	headp := r.word(r.cq, r.p.cqOff.head)
	head := *headp
	tail := atomic.LoadUint32(r.word(r.cq, r.p.cqOff.tail))
	mask := *r.word(r.cq, r.p.cqOff.ringMask)
	var out []CQE
	for ; head != tail; head++ {
		out = append(out, *(*CQE)(unsafe.Pointer(&r.cq[r.p.cqOff.cqes+(head&mask)*uint32(unsafe.Sizeof(CQE{}))])))
	}
	atomic.StoreUint32(headp, head)
	return out
}

// Run queues sqes, submits them and returns the completions of the first
// wait of them.
func (r *Ring) Run(wait uint32, sqes ...SQE) ([]CQE, error) {
	if err := r.Queue(sqes...); err != nil {
		return nil, err
	}
	if err := r.Enter(wait); err != nil {
		return nil, err
	}
	return r.Reap(), nil
}

// RegisterSparseFiles makes n empty fixed-file slots, for opens straight
// into a slot (direct descriptors).
func (r *Ring) RegisterSparseFiles(n int) error {
	fds := make([]int32, n)
	for i := range fds {
		fds[i] = -1
	}
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerFiles,
		uintptr(unsafe.Pointer(&fds[0])), uintptr(n), 0, 0)
	if errno != 0 {
		return fmt.Errorf("io_uring_register files: %w", errno)
	}
	return nil
}
