package guard

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/sigguard/sigguard/internal/bpf"
)

// sharerRoutes hand the caller a descriptor that another process sharing
// its descriptor table (clone with CLONE_FILES) would keep after the kill.
var sharerRoutes = []Syscall{SyscallOpen, SyscallOpenat, SyscallOpenat2, SyscallCreat, SyscallPidfdGetfd}

// startSharerKills makes a signal-tier kill for such a route reach every
// process sharing the caller's descriptor table (internal/bpf/sharers.h):
// it notes sharing at fork and puts the killer in its tail-call slot. The
// killer needs kfuncs of Linux 6.13; where the kernel refuses it, nothing
// is attached and SharersReached says so. Deny tiers refuse the call
// itself, so no descriptor is made to share.
func (g *Guard) startSharerKills(c *compiled) error {
	if g.tier != TierSignal || !c.guardsAny(sharerRoutes) || g.sharers != sharersUnknown {
		return nil
	}
	killer, err := g.program(bpf.GuardProgSgKillSharers)
	if err != nil {
		g.sharers = sharersUnreachable
		return nil
	}
	if err := g.attachOnce(bpf.GuardProgSgNoteSharing); err != nil {
		return err
	}
	if err := g.maps.SharerKiller.Update(uint32(0), killer, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("install the descriptor sharers' killer: %w", err)
	}
	g.sharers = sharersReached
	return nil
}

// sharerState says whether kills reach the processes that share a killed
// caller's descriptor table.
type sharerState int

const (
	sharersUnknown     sharerState = iota // not needed yet
	sharersReached                        // the killer is in place
	sharersUnreachable                    // the kernel has no bpf_send_signal_task (before 6.13)
)

// SharersReached reports whether a signal-tier kill for an open of
// /proc/<pid>/mem or a pidfd_getfd also kills every process that shares
// the caller's descriptor table, noted since the guard started.
func (g *Guard) SharersReached() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sharers == sharersReached
}
