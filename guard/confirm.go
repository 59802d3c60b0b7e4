package guard

import (
	"errors"
	"fmt"
	"os"
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
		g.unconfirmed.Add(1)
		g.event = Event{
			Kind: KindUnconfirmed, Time: time.Now(), PID: int(tgid), Signal: unix.SIGKILL,
			Action: ActionSignalProcess, Syscall: Syscall(kills[i].Syscall &^ compatFlag),
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

func readComm(pid int) (Comm, error) {
	var c Comm
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return c, err
	}
	n := copy(c[:15], b)
	if n > 0 && c[n-1] == '\n' {
		c[n-1] = 0
	}
	return c, nil
}

// cleanUpAfter acts on what the kernel noted about a confirmed kill: the
// process the killed caller stopped gets SIGCONT, its own child that the
// call targeted is killed. Both go through a pidfd, so that a pid recycled
// meanwhile is at least never a process that started after the kill; the
// event says what was done.
func (g *Guard) cleanUpAfter(ev *Event) {
	if !g.cleanup.Load() {
		ev.Resumed, ev.Reaped = 0, 0
		return
	}
	if ev.Resumed > 0 && !signalPid(ev.Resumed, unix.SIGCONT) {
		ev.Resumed = 0
	}
	if ev.Reaped > 0 && !signalPid(ev.Reaped, unix.SIGKILL) {
		ev.Reaped = 0
	}
}

func signalPid(pid int, sig unix.Signal) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return unix.PidfdSendSignal(fd, sig, nil, 0) == nil
}
