package guard

import (
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/internal/bpf"
)

// reportUnconfirmed warns, once each, about processes sigguard sent SIGKILL
// to that have not exited UnconfirmedAfter later. The kernel forgets a
// kill when the process exits (and reports that); what is left and old is
// a process that did not die: stuck in an uninterruptible wait, say.
func (g *Guard) reportUnconfirmed(handle func(*Event) error) error {
	now, err := bootNow()
	if err != nil {
		return err
	}
	var tgid uint32
	var k bpf.GuardKill
	var overdue []uint32
	var kills []bpf.GuardKill
	for it := g.maps.Kills.Iterate(); it.Next(&tgid, &k); {
		if isOverdue(k.CallNs, now) {
			overdue = append(overdue, tgid)
			kills = append(kills, k)
		}
	}
	for i, tgid := range overdue {
		if err := g.maps.Kills.Delete(tgid); err != nil {
			if errors.Is(err, ebpf.ErrKeyNotExist) {
				continue // it exited meanwhile, and the kernel said so
			}
			return fmt.Errorf("forget kill: %w", err)
		}
		// The exit hook skips its lookup while noted == ended + forgotten.
		if err := g.bumpVariable(bpf.GuardVarKillsForgotten); err != nil {
			return err
		}
		g.unconfirmed.Add(1)
		g.event = Event{
			Kind: KindUnconfirmed, Time: time.Now(), PID: int(tgid), Signal: unix.SIGKILL,
			Action: ActionSignalProcess, Syscall: killedFor(&kills[i]),
			Compat: kills[i].Syscall&compatFlag != 0, Latency: time.Duration(now - kills[i].CallNs),
		}
		if names := g.names[kills[i].Generation&1].Load(); names != nil && int(kills[i].Rule) < len(*names) {
			g.event.Rule = (*names)[kills[i].Rule]
		}
		if comm, err := readComm(int(tgid)); err == nil {
			g.event.Comm = comm
		}
		if err := handle(&g.event); err != nil {
			return err
		}
	}
	return nil
}

// isOverdue says whether a kill of callNs (boot clock) is older than
// UnconfirmedAfter at now.
func isOverdue(callNs, now uint64) bool {
	return now > callNs && time.Duration(now-callNs) > UnconfirmedAfter
}

func bootNow() (uint64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0, err
	}
	return uint64(ts.Nano()), nil
}

// cleanUpAfter acts on what the kernel noted about a confirmed kill: the
// process the killed caller stopped gets SIGCONT, its own child that the
// call targeted is killed. Both go through a pidfd, and only to a process
// that started before the offending call (callNs, boot clock): a pid
// recycled meanwhile is left alone. The event says what was done.
func (g *Guard) cleanUpAfter(ev *Event, callNs uint64) {
	if !g.cleanup.Load() {
		ev.Resumed, ev.Reaped = 0, 0
		return
	}
	if ev.Resumed > 0 && !signalPid(ev.Resumed, unix.SIGCONT, callNs) {
		ev.Resumed = 0
	}
	if ev.Reaped > 0 && !signalPid(ev.Reaped, unix.SIGKILL, callNs) {
		ev.Reaped = 0
	}
}

// signalPid signals pid if it is a process that started by bootNs.
func signalPid(pid int, sig unix.Signal, bootNs uint64) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	// Read after the pidfd is open: if pid was recycled in between, the
	// pidfd's process is dead and the signal below fails.
	start, err := startTicks(pid)
	if err != nil || start*tickNs > bootNs {
		return false
	}
	return unix.PidfdSendSignal(fd, sig, nil, 0) == nil
}

// killedFor is the syscall a kill was sent for: a generic route's by its
// number.
func killedFor(k *bpf.GuardKill) Syscall {
	s := Syscall(k.Syscall &^ compatFlag)
	if s == genericRoute {
		return GenericSyscall(int(k.Nr))
	}
	return s
}
