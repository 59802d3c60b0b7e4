package guard

import (
	"sync/atomic"
	"testing"

	"github.com/sigguard/sigguard/internal/bpf"
)

// Whatever bytes a ring buffer record holds, decoding never panics, and
// reads no rule name it does not have.
func FuzzDecodeEvent(f *testing.F) {
	f.Add(sample(bpf.GuardEvent{Kind: uint8(KindIntervention), Rule: 1, Generation: 1}))
	f.Add(sample(bpf.GuardEvent{Kind: uint8(KindExited), BootNs: 5, CallNs: 9, Rule: 7}))
	f.Add([]byte{1, 2, 3})
	var names [2]atomic.Pointer[[]string]
	names[1].Store(&[]string{"a", "b"})
	f.Fuzz(func(t *testing.T, data []byte) {
		var raw bpf.GuardEvent
		var ev Event
		var clock bootClock
		ok := decodeEvent(data, &raw, &clock, &names, &ev)
		if ok != (len(data) >= eventSize) {
			t.Fatalf("%d bytes decoded: %v", len(data), ok)
		}
		if ok && ev.Rule != "" && ev.Rule != "a" && ev.Rule != "b" {
			t.Fatalf("rule name %q out of nowhere", ev.Rule)
		}
	})
}
