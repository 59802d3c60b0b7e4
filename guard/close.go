package guard

import (
	"errors"
)

// detach lets go of every hook. A pinned guard's hooks stay attached
// through their pins: closing them here only lets go of this process's
// hold.
func (g *Guard) detach() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.hooks.closeAll()
}

// Close detaches and unloads everything. It is safe to call more than once
// and while Run is running: Close interrupts it, waits for it to return
// (with ErrClosed), and only then frees what Run reads.
func (g *Guard) Close() error {
	g.closeOnce.Do(func() {
		g.closed.Store(true)
		g.cgroups.stopFollowing()
		errs := []error{g.detach()}
		if g.pin != nil && g.pin.lock != nil {
			errs = append(errs, g.releasePin())
		}
		g.mu.Lock()
		g.current = nil
		if g.notices != nil {
			close(g.notices)
		}
		g.mu.Unlock()
		if g.reader != nil {
			errs = append(errs, g.reader.Close())
		}
		g.runMu.Lock()
		defer g.runMu.Unlock()
		for _, p := range g.progs {
			errs = append(errs, p.Close())
		}
		errs = append(errs, g.maps.Close())
		if g.coll != nil {
			g.coll.Close()
		}
		g.closeErr = errors.Join(errs...)
	})
	return g.closeErr
}
