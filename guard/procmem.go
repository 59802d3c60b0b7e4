package guard

import (
	"os"

	"github.com/sigguard/sigguard/internal/bpf"
)

// teachProcMem has the open hooks learn which f_op /proc/<pid>/mem files
// have, by opening the reader's own /proc/self/mem once the openat hook
// is attached: the program takes it from this process only. From then on
// an open of any other file costs the hook two reads instead of four.
// Best effort: until it is learned (no /proc here, say) every open is
// judged by its file's superblock and name, as correctly, a little
// slower.
func (g *Guard) teachProcMem() {
	var known uint64
	v := g.coll.Variables[bpf.GuardVarProcMemFops]
	if err := v.Get(&known); err != nil || known != 0 {
		return
	}
	if f, err := os.Open("/proc/self/mem"); err == nil {
		f.Close()
	}
}
