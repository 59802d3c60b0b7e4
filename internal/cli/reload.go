package cli

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/policy"
	"github.com/sigguard/sigguard/internal/policywatch"
)

// policySettle is how long a policy file must stay unchanged before it is
// read: an editor's save or a ConfigMap update is several steps.
const policySettle = 100 * time.Millisecond

// reloadOnChange re-reads the policy on every SIGHUP, and whenever the
// watcher sees the file's content change (in place, renamed over, or
// swapped under a ConfigMap's symlinks). A policy that does not load is
// reported and the one in force stays.
func reloadOnChange(g *guard.Guard, path string, watcher *policywatch.Watcher, stderr io.Writer) (stop func()) {
	if err := watcher.Polling(); err != nil {
		fmt.Fprintf(stderr, "sigguard: warning: %s cannot be watched (%v); it is read every %v for changes instead\n",
			path, err, policywatch.Poll)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			var cfg guard.Config
			var ok bool
			select {
			case <-quit:
				return
			case <-hup:
				cfg, ok = reloadFile(g, path, stderr)
			case c := <-watcher.Changes():
				cfg, ok = reloadChanged(g, path, c, stderr)
			}
			if ok {
				describe(stderr, g, cfg.Rules)
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(quit)
		<-done
	}
}

// reloader is what reloading needs of a guard.
type reloader interface{ Reload(guard.Config) error }

// reloadFile reloads the policy as the file reads now (SIGHUP).
func reloadFile(g reloader, path string, stderr io.Writer) (guard.Config, bool) {
	cfg, err := policy.Load(path)
	return cfg, reloadWith(g, path, "", cfg, err, stderr)
}

// reloadChanged reloads the content the watcher read.
func reloadChanged(g reloader, path string, c policywatch.Change, stderr io.Writer) (guard.Config, bool) {
	if c.Err != nil {
		fmt.Fprintf(stderr, "sigguard: warning: the policy file cannot be read (%v); the policy in force stays until it can\n", c.Err)
		return guard.Config{}, false
	}
	cfg, err := policy.Parse(path, c.Data)
	return cfg, reloadWith(g, path, " (its content changed)", cfg, err, stderr)
}

func reloadWith(g reloader, path, why string, cfg guard.Config, err error, stderr io.Writer) bool {
	if err == nil {
		err = g.Reload(cfg)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sigguard: reload rejected, the previous policy stays in force: %v\n", err)
		return false
	}
	releaseLoadMemory()
	fmt.Fprintf(stderr, "sigguard: reloaded %s%s\n", path, why)
	return true
}
