package guard

// The programs leave one process alone, the reader: the BPF object's
// self_tgid and self_start_ticks name it. They are written here only.

import (
	"fmt"
	"os"

	"github.com/sigguard/sigguard/internal/bpf"
)

// exemptSelf makes the programs leave this process alone.
func (g *Guard) exemptSelf() error {
	ticks, err := ownStartTicks()
	if err != nil {
		return fmt.Errorf("read own start time: %w", err)
	}
	return g.setSelf(uint32(os.Getpid()), ticks)
}

// clearSelf exempts no process: nothing is exempt while no sigguard reads
// the events.
func (g *Guard) clearSelf() error { return g.setSelf(0, 0) }

// setSelf writes which process the programs exempt: the reader.
// The two words are written in the order that never exempts a process
// that is not the reader, even between the writes.
func (g *Guard) setSelf(tgid uint32, startTicks uint64) error {
	setTgid := func() error { return g.coll.Variables[bpf.GuardVarSelfTgid].Set(tgid) }
	setTicks := func() error { return g.coll.Variables[bpf.GuardVarSelfStartTicks].Set(startTicks) }
	steps := []func() error{setTicks, setTgid}
	if tgid == 0 {
		steps = []func() error{setTgid, setTicks}
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("set the exempt reader: %w", err)
		}
	}
	return nil
}
