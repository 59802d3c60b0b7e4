package guard

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/internal/bpf"
	"github.com/sigguard/sigguard/internal/kernfs"
)

// DefaultPinDir is where a pinned guard lives unless told otherwise.
const DefaultPinDir = kernfs.BPFFSPath + "/sigguard"

// A pinned guard is a directory on the BPF filesystem:
//
//	maps/<name>   every map, counters and the event ring buffer included
//	links/<name>  every attached hook (its program comes with it)
//
// maps/pin_meta is pinned last: its presence marks a complete pin. While a
// link stays pinned, its program runs whether or not any process holds it.
const (
	pinMapsDir  = "maps"
	pinLinksDir = "links"
	// A pin made by another sigguard build is moved here while this one
	// attaches its own hooks, and removed once they are in place.
	oldMapsDir  = "old-maps"
	oldLinksDir = "old-links"
)

// pinSubdirs in the order Unpin empties them: hooks first, so that
// enforcement ends before the maps its programs use go.
var pinSubdirs = []string{pinLinksDir, oldLinksDir, pinMapsDir, oldMapsDir}

// errOtherBuild says the pins were made by another sigguard build, whose
// maps and programs this one cannot share.
var errOtherBuild = errors.New("pinned by another sigguard build")

// pinState is a guard's hold on its pin directory.
type pinState struct {
	dir     string
	phase   pinPhase // where Start stands with the pin (pin_phase.go)
	lock    *os.File // flock'ed for the guard's life: one reader per pin
	record  bpf.GuardPinRecord
	adopted *Adoption
}

// claimPinDir makes dir (on the BPF filesystem) and locks it against a
// second sigguard, which would otherwise race this one for the same maps.
func claimPinDir(dir string) (*pinState, error) {
	if err := checkPinDirAbs(dir); err != nil {
		return nil, err
	}
	unmount, err := kernfs.EnsureBPFFS()
	if err != nil {
		return nil, err
	}
	if !kernfs.IsBPFFS(dir) {
		return nil, configError(SettingPinDir, "%s is not on a bpf filesystem (use a directory under %s)", dir, kernfs.BPFFSPath)
	}
	if err := kernfs.CheckBPFFSOutlivesUs(dir); err != nil {
		unmount()
		return nil, &EnvironmentError{Problems: []error{err}}
	}
	for _, sub := range []string{pinMapsDir, pinLinksDir} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("create pin directory: %w (is %s on a writable bpf filesystem?)", err, dir)
		}
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	p := &pinState{dir: dir, lock: lock}
	if p.complete() {
		p.phase = pinAdopting
	}
	return p, nil
}

// adopting says whether this guard took over an existing pin.
func (g *Guard) adopting() bool { return g.pin != nil && g.pin.phase == pinAdopting }

// lockDir takes an exclusive flock on a directory; it holds until the
// file is closed or the process ends, crash included.
func lockDir(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("open pin directory: %w", err)
	}
	if err := flockBriefly(f); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("another sigguard is running with the pins at %s (stop it first, or use another --pin-dir)", dir)
		}
		return nil, fmt.Errorf("lock pin directory %s: %w", dir, err)
	}
	return f, nil
}

// flockBriefly takes the exclusive lock, retrying for a moment: sigguard
// status takes a shared lock for an instant to see whether a reader runs,
// and must not make a start or an unpin at that moment fail.
func flockBriefly(f *os.File) error {
	var err error
	for try := 0; try < 25; try++ {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

func (p *pinState) mapPath(name string) string {
	return filepath.Join(p.dir, pinMapsDir, pinName(name))
}

func (p *pinState) linkPath(name string) string {
	return filepath.Join(p.linksDir(), name)
}

// linksDir is where the hooks are pinned.
func (p *pinState) linksDir() string { return filepath.Join(p.dir, pinLinksDir) }

// pinName turns ".bss" into "bss": internal maps pin without the dot.
func pinName(mapName string) string { return strings.TrimPrefix(mapName, ".") }

// complete says whether the directory holds a whole pinned guard.
func (p *pinState) complete() bool {
	_, err := os.Stat(p.mapPath(bpf.GuardMapPinMeta))
	return err == nil
}

// empty says whether nothing at all is pinned there.
func (p *pinState) empty() bool {
	for _, sub := range []string{pinMapsDir, pinLinksDir} {
		entries, err := os.ReadDir(filepath.Join(p.dir, sub))
		if err != nil || len(entries) > 0 {
			return false
		}
	}
	return true
}

// removePins unpins everything in dir and removes it; a missing dir is fine.
func removePins(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	for _, e := range entries {
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("unpin %s: %w", filepath.Join(dir, e.Name()), err)
		}
	}
	if err := os.Remove(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// Adopted says what the guard found in its pin directory at start; nil if
// it started a new pin or runs unpinned.
func (g *Guard) Adopted() *Adoption {
	if g.pin == nil {
		return nil
	}
	return g.pin.adopted
}

// PinDir is the directory the guard is pinned in, or "".
func (g *Guard) PinDir() string {
	if g.pin == nil {
		return ""
	}
	return g.pin.dir
}
