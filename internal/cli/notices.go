package cli

import (
	"fmt"
	"io"

	"github.com/sigguard/sigguard/guard"
)

// relayNotices prints the guard's notices on stderr until it closes;
// wait returns once the guard closed and the last notice is printed.
func relayNotices(g *guard.Guard, stderr io.Writer) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := range g.Notices() {
			printNotice(stderr, n)
		}
	}()
	return func() { <-done }
}

// printNotice prints a notice: a warning when a rule matches less than
// its author wrote.
func printNotice(w io.Writer, n guard.Notice) {
	switch n.Kind {
	case guard.NoticeCgroupRecreated, guard.NoticeCgroupCreated:
		fmt.Fprintf(w, "sigguard: %s\n", n)
	default:
		fmt.Fprintf(w, "sigguard: warning: %s\n", n)
	}
}

// checkNotices warns of what a policy that loads would load with: the
// cgroups it names that do not exist now.
func checkNotices(cfg guard.Config, stderr io.Writer) {
	notices, err := cfg.Check()
	if err != nil {
		return // policy.Load reported it already
	}
	for _, n := range notices {
		printNotice(stderr, n)
	}
}
