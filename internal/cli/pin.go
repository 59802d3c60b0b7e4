package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/sigguard/sigguard/guard"
)

// describePin says, at start, what a pinned guard found: a new pin, or an
// adopted one with what happened while no sigguard read its events.
func describePin(log *logger, g *guard.Guard) {
	dir := g.PinDir()
	if dir == "" {
		return
	}
	a := g.Adopted()
	if a == nil {
		log.info(fmt.Sprintf("pinned at %s: enforcement goes on if sigguard exits or dies", dir), "pin_dir", dir)
		return
	}
	how := "with the same rules, left in force"
	switch {
	case a.OtherBuild:
		how = "made by another sigguard build: it enforced until this build's hooks were attached, then was removed"
	case !a.SamePolicy:
		how = "with other rules, replaced without a gap"
	}
	log.info(fmt.Sprintf("adopted the guard pinned at %s (%s)", dir, how), "pin_dir", dir, "adopted", how)
	if a.OtherBuild && a.CountsUnknown {
		log.info("what it did unattended is unknown: that build kept its counters in another layout, and its events were not read", "pin_dir", dir)
		return
	}
	left := "the last reader closed"
	if a.CrashedReader != 0 {
		left = fmt.Sprintf("sigguard pid %d ended without closing", a.CrashedReader)
	}
	events := "their events follow"
	if a.OtherBuild {
		events = "their events, in the other build's ring buffer, were not read"
	}
	u := a.Unattended
	since := a.Since.UTC().Format(time.RFC3339)
	log.info(fmt.Sprintf("unattended since %s (%s): %d interventions, %d signals sent, %d failed sends, %d events lost; %s",
		since, left, u.Interventions, u.Signalled, u.FailedSends, u.EventsLost, events),
		"unattended_since", since, "interventions", u.Interventions, "signals_sent", u.Signalled, "failed_sends", u.FailedSends, "events_lost", u.EventsLost)
}

// pinFlags parses the one flag status and unpin take.
func pinFlags(cmd string, args []string, stdout io.Writer) (string, error) {
	fs := pflag.NewFlagSet("sigguard "+cmd, pflag.ContinueOnError)
	fs.SetOutput(discard{})
	dir := fs.String("pin-dir", guard.DefaultPinDir, "the pinned guard's `DIR` on the bpf filesystem")
	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		text := statusUsage
		if cmd == "unpin" {
			text = unpinUsage
		}
		printHelp(stdout, text, fs)
		return "", errHelp
	}
	if err != nil {
		return "", usagef("%s: %v (sigguard %s [--pin-dir DIR])", cmd, err, cmd)
	}
	if fs.NArg() > 0 {
		return "", usagef("%s: unexpected argument %q (sigguard %s [--pin-dir DIR])", cmd, fs.Arg(0), cmd)
	}
	if *dir == "" {
		return "", usagef("%s: --pin-dir has an empty value (name a directory)", cmd)
	}
	if err := guard.CheckPinDir(*dir); err != nil {
		return "", usagef("%s: %v", cmd, err)
	}
	return *dir, nil
}

// statusMain prints what a pinned guard enforces. Exit 0 when one is
// pinned, 1 when none is, 2 on bad input.
func statusMain(args []string, stdout, stderr io.Writer) int {
	dir, err := pinFlags("status", args, stdout)
	if errors.Is(err, errHelp) {
		return exitOK
	}
	if err != nil {
		loggerFor(stderr).error(err.Error())
		return exitUsage
	}
	st, err := guard.ReadPin(dir)
	if errors.Is(err, guard.ErrNotPinned) {
		fmt.Fprintf(stdout, "nothing pinned at %s: no guard outlives its sigguard\n", dir)
		return exitFailure
	}
	if err != nil {
		loggerFor(stderr).error(fmt.Sprintf("status: %v", err))
		return exitFailure
	}
	printStatus(stdout, st)
	return exitOK
}

func printStatus(w io.Writer, st *guard.PinStatus) {
	reader := "none (enforcing unattended; a sigguard started with --pin-dir " + st.Dir + " adopts it)"
	switch {
	case st.Reader != 0:
		reader = fmt.Sprintf("sigguard pid %d", st.Reader)
	case st.TakingOver:
		reader = "a sigguard is taking the pin over"
	}
	state := "enforcing"
	if !st.Enforcing() {
		state = "NOT enforcing (no hook is pinned: sigguard unpin --pin-dir " + st.Dir + " removes what is left)"
	}
	fmt.Fprintf(w, "pinned guard at %s: %s\n", st.Dir, state)
	fmt.Fprintf(w, "tier:     %s (%s)\n", st.Tier, st.Tier.Limits())
	fmt.Fprintf(w, "reader:   %s; counters last noted %s\n", reader, st.LastReport.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "hooks:    %s\n", strings.Join(st.Hooks, ", "))
	if len(st.SetAside) > 0 {
		fmt.Fprintf(w, "old hooks: %s (another build's, set aside by an upgrade that has not finished; they enforce too)\n", strings.Join(st.SetAside, ", "))
	}
	for i, r := range st.Rules {
		fmt.Fprintf(w, "rule %d %s: %d matched, %d denied, %d signals sent, %d failed sends, %d held back\n", i+1, r.Rule, r.Matched,
			r.Denied, r.Signalled, r.FailedSends, r.HeldBack)
	}
	s := st.Stats
	fmt.Fprintf(w, "counters: %d interventions, %d calls denied, %d signals sent, %d failed sends, %d held back, %d events lost; %d kills confirmed by exit\n",
		s.Interventions, s.Denied, s.Signalled, s.FailedSends, s.HeldBack, s.EventsLost, s.Confirmed)
}

// unpinMain stops a pinned guard for good.
func unpinMain(args []string, stdout, stderr io.Writer) int {
	dir, err := pinFlags("unpin", args, stdout)
	if errors.Is(err, errHelp) {
		return exitOK
	}
	if err != nil {
		loggerFor(stderr).error(err.Error())
		return exitUsage
	}
	removed, err := guard.Unpin(dir)
	if errors.Is(err, guard.ErrNotPinned) {
		fmt.Fprintf(stdout, "nothing pinned at %s\n", dir)
		return exitOK
	}
	if err != nil {
		loggerFor(stderr).error(fmt.Sprintf("unpin: %v", err))
		return exitFailure
	}
	fmt.Fprintf(stdout, "unpinned %s: %d hooks and maps removed; the pinned guard no longer enforces\n", dir, len(removed))
	return exitOK
}
