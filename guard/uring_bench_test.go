package guard_test

import (
	"os"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/testenv"
	"github.com/sigguard/sigguard/internal/uring"
)

// BenchmarkIoUring measures what the io_uring hooks cost every io_uring
// user on the machine, guarded or not: ns per completed request, with and
// without a guard whose rule guards io_uring (scoped to an empty cgroup,
// so that nothing here matches). NOP runs only the completion hook, which
// stops at the opcode; an OPENAT of /dev/null runs it to the file check;
// a READ of /dev/zero runs the descriptor lookup hook. Compare medians of
// several runs: go test -run '^$' -bench IoUring -count 6 ./guard/
func BenchmarkIoUring(b *testing.B) {
	testenv.RequireRoot(b)
	for _, hooked := range []bool{false, true} {
		name := "unhooked"
		if hooked {
			name = "hooked"
		}
		b.Run(name, func(b *testing.B) {
			if hooked {
				startUringGuard(b)
			}
			b.Run("nop", func(b *testing.B) {
				benchRequests(b, func() uring.SQE { return uring.SQE{Opcode: uring.OpNop} })
			})
			b.Run("openat", func(b *testing.B) { benchRequests(b, openDevNull) })
			b.Run("read", func(b *testing.B) { benchRequests(b, readDevZero(b)) })
		})
	}
}

func startUringGuard(b *testing.B) {
	cg := testenv.NewCgroup(b)
	g, err := guard.Start(guard.Config{Tier: guard.TierSignal, Rules: []guard.Rule{{
		Syscalls: []guard.Syscall{guard.SyscallIoUring}, Action: guard.ActionAudit, Signal: syscall.SIGKILL,
		Match: guard.Matchers{Cgroup: []string{cg.Path}},
	}}})
	if err != nil {
		b.Fatalf("start guard: %v", err)
	}
	ids := g.ProgramIDs()
	b.Cleanup(func() {
		g.Close()
		testenv.AssertUnloaded(b, ids)
	})
}

var devNull = append([]byte("/dev/null"), 0)

func openDevNull() uring.SQE {
	return uring.SQE{Opcode: uring.OpOpenat, FD: int32(unix.AT_FDCWD), Addr: uint64(uintptr(unsafe.Pointer(&devNull[0])))}
}

func readDevZero(b *testing.B) func() uring.SQE {
	f, err := os.Open("/dev/zero")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	buf := make([]byte, 8)
	return func() uring.SQE {
		return uring.SQE{Opcode: uring.OpRead, FD: int32(f.Fd()), Addr: uint64(uintptr(unsafe.Pointer(&buf[0]))), Len: 8}
	}
}

// benchRequests completes b.N requests, eight per io_uring_enter, and
// closes the descriptors opens return.
func benchRequests(b *testing.B, request func() uring.SQE) {
	const batch = 8
	ring, err := uring.New(batch, 0)
	if err != nil {
		b.Fatalf("%v", err)
	}
	defer ring.Close()
	sqes := make([]uring.SQE, batch)
	for i := range sqes {
		sqes[i] = request()
	}
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		cqes, err := ring.Run(batch, sqes...)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range cqes {
			if c.Res < 0 {
				b.Fatalf("request failed: %v", syscall.Errno(-c.Res))
			}
			if sqes[0].Opcode == uring.OpOpenat {
				unix.Close(int(c.Res))
			}
		}
	}
}
