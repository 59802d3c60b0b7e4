// Package cli is sigguard's command line: it parses flags, runs a guard and
// turns what happens into output and an exit status.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/bench"
	"github.com/sigguard/sigguard/internal/metrics"
	"github.com/sigguard/sigguard/internal/output"
	"github.com/sigguard/sigguard/internal/policy"
	"github.com/sigguard/sigguard/internal/policywatch"
	"github.com/sigguard/sigguard/internal/watchdog"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the guard could not start or stopped on an error
	exitUsage   = 2 // bad input; nothing was loaded
)

// Main runs sigguard with args (without the program name) until ctx ends
// and returns the exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && takesLogFormat[args[0]] {
		rest, w, err := stripLogFormat(args[1:], stderr)
		if err != nil {
			fmt.Fprintf(stderr, "sigguard: %s: %v (see sigguard %s --help)\n", args[0], err, args[0])
			return exitUsage
		}
		args, stderr = append([]string{args[0]}, rest...), w
	}
	if len(args) > 0 {
		switch args[0] {
		case "check":
			if wantsHelp(args[1:]) {
				return printHelp(stdout, checkUsage, nil)
			}
			return check(args[1:], stdout, stderr)
		case "bench":
			return benchMain(ctx, args[1:], stdout, stderr)
		case "status":
			return statusMain(args[1:], stdout, stderr)
		case "unpin":
			return unpinMain(args[1:], stdout, stderr)
		case bench.OffenderCommand:
			return bench.RunOffender(args[1:])
		case watchdog.Command:
			return watchdog.Main(args[1:])
		}
	}
	opts, fs, err := parseArgs(args)
	log := newLogger(opts.logFormat, stderr)
	if err != nil {
		// Say what is wrong in the format asked for, when it can be told.
		if _, w, ferr := stripLogFormat(args, stderr); ferr == nil {
			log = loggerFor(w)
		}
	}
	switch {
	case err != nil:
		log.error(fmt.Sprintf("%v (see sigguard --help)", err), "exit_status", exitUsage)
		return exitUsage
	case opts.help:
		fmt.Fprint(stdout, usage(fs))
		return exitOK
	case opts.version:
		fmt.Fprintln(stdout, versionLine())
		return exitOK
	}
	err = run(ctx, opts, stdout, log)
	if err == nil {
		return exitOK
	}
	msg, code := explainFailure(opts, err)
	fields := []any{"exit_status", code}
	var ee *guard.EnvironmentError
	if errors.As(err, &ee) {
		var problems []string
		for _, p := range ee.Problems {
			problems = append(problems, p.Error())
		}
		fields = append(fields, "problems", problems)
	}
	log.error(msg, fields...)
	return code
}

// explainFailure words what stopped a guarding run, and picks the exit
// status: 2 for bad input and for a place sigguard cannot enforce in (both
// found before anything is loaded), 1 for the rest.
func explainFailure(opts options, err error) (string, int) {
	var ue *usageError
	var pe *policy.Error
	var ce *guard.ConfigError
	var ee *guard.EnvironmentError
	switch {
	case errors.As(err, &ue):
		return fmt.Sprintf("%v (see sigguard --help)", err), exitUsage
	case errors.As(err, &pe):
		return err.Error(), exitUsage
	case errors.As(err, &ce):
		return fmt.Sprintf("%s (see sigguard --help)", opts.explain(ce)), exitUsage
	case errors.As(err, &ee):
		return err.Error(), exitUsage
	}
	return err.Error(), exitFailure
}

// run guards until ctx ends. When it returns, nothing is left attached.
func run(ctx context.Context, opts options, stdout io.Writer, log *logger) (err error) {
	// A ready file left by an earlier run must not announce this one.
	if opts.readyFile != "" {
		if err := os.Remove(opts.readyFile); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("remove stale ready file: %w", err)
		}
	}
	// Bind before anything is loaded: a port in use is bad input. The
	// health endpoints answer from then on; /readyz says 503 until the
	// guard enforces.
	var endpoints *metrics.Endpoints
	if opts.metrics != "" {
		var stop func()
		if endpoints, stop, err = serveEndpoints(opts.metrics, log); err != nil {
			return err
		}
		defer stop()
	}
	defer func() {
		if err != nil {
			endpoints.NotReady("failed: " + firstLine(err.Error()))
		}
	}()
	// The policy file is watched from before it is first read, so that no
	// change made while the guard starts goes unseen (at worst the content
	// in force is loaded twice).
	var watcher *policywatch.Watcher
	if opts.policy != "" {
		watcher = policywatch.Watch(opts.policy, policySettle)
		defer watcher.Close()
	}
	cfg, err := opts.load()
	if err != nil {
		return err
	}
	g, err := guard.Start(cfg)
	if err != nil {
		return err
	}
	stderr := log.writer()
	// Deferred first, so it runs after Close: the last notices are printed.
	defer relayNotices(g, stderr)()
	defer func() {
		if cerr := g.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("unload: %w", cerr)
		}
	}()
	describe(stderr, g, cfg.Rules)
	defer startWatchdog(g, log)()
	if opts.policy != "" {
		stop := reloadOnChange(g, opts.policy, watcher, stderr)
		defer stop()
	}

	observe := func(*guard.Event) {}
	if endpoints != nil {
		m := metrics.New(g)
		observe = m.Observe
		endpoints.Serve(m)
	}
	// Before the guard closes (deferred earlier, so run later): no scrape
	// may read its maps as they go.
	defer endpoints.Unserve()

	// Lines are written in batches: when the reader has caught up with
	// the events (within about 2 ms of the last one read, so a terminal
	// sees each event at once), when 64 KiB are waiting, and on the way
	// out, whatever ends the run.
	w := output.New(opts.output, stdout)
	if err := errors.Join(w.Begin(), w.Flush()); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if opts.readyFile != "" {
		if err := writeReadyFile(opts.readyFile); err != nil {
			return err
		}
		defer os.Remove(opts.readyFile)
	}

	endpoints.Ready()
	// After ready: the collection takes milliseconds that need not delay
	// enforcement being announced; events wait in the ring buffer.
	releaseLoadMemory()
	flush := func() error {
		if err := w.Flush(); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		return nil
	}
	runErr := g.RunBatched(ctx, func(ev *guard.Event) error {
		observe(ev)
		if err := w.Write(ev); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		return nil
	}, flush)
	// Whatever ended the run (a failed write leaves nothing to flush).
	runErr = errors.Join(runErr, flush())
	if runErr == nil {
		endpoints.NotReady("stopping: the programs are detached")
	}
	return errors.Join(runErr, summarize(stderr, g))
}

// startWatchdog guards sigguard against being left stopped, in the
// signal tier, where an attach on sigguard itself still stops it. The
// returned function stops the watchdog.
func startWatchdog(g *guard.Guard, log *logger) (stop func()) {
	if g.Tier() != guard.TierSignal {
		return func() {}
	}
	stop, err := watchdog.Start(log.writer())
	if err != nil {
		log.warn(fmt.Sprintf("%v: an attach on sigguard itself would leave it stopped", err))
		return func() {}
	}
	return stop
}

// serveEndpoints binds addr and serves the health endpoints and, once a
// guard runs, its metrics. stop shuts the server down.
func serveEndpoints(addr string, log *logger) (*metrics.Endpoints, func(), error) {
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, usagef("--metrics-addr %s: %v (choose a free port)", addr, err)
	}
	endpoints := metrics.NewEndpoints()
	server := &http.Server{Handler: endpoints.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go server.Serve(listener)
	base := "http://" + listener.Addr().String()
	log.info(fmt.Sprintf("health at %s/healthz, readiness at %s/readyz; metrics at %s/metrics", base, base, base),
		"metrics", base+"/metrics", "healthz", base+"/healthz", "readyz", base+"/readyz")
	return endpoints, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		server.Shutdown(ctx)
	}, nil
}

// firstLine keeps /readyz's reason to one line (a verifier log has many).
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// describe says on stderr what is enforced: the tier, the hooks, each rule.
func describe(w io.Writer, g *guard.Guard, rules []guard.Rule) {
	log := loggerFor(w)
	var hooked []string
	for _, s := range g.Hooked() {
		hooked = append(hooked, s.String())
	}
	compat := "not hooked (add compat: true to a policy to catch them)"
	if g.Compat() {
		compat = "hooked"
	}
	log.info(fmt.Sprintf("tier %s (%s); hooked: %s; 32-bit syscalls: %s", g.Tier(), g.Tier().Limits(), strings.Join(hooked, ", "), compat),
		"tier", string(g.Tier()), "hooked", hooked, "compat", g.Compat())
	for _, why := range g.TierPassedOver() {
		log.info("tier "+why, "passed_over", why)
	}
	if g.Tier() == guard.TierSignal {
		log.warn("the signal tier cannot prevent what a call does before its signal lands: "+
			"PTRACE_ATTACH and SEIZE attach (the victim is stopped until sigguard resumes it), TRACEME, SETREGS, POKEUSER and KILL "+
			"take effect; the calling thread's own reads and writes of memory do not go through (open routes below)", "tier", string(g.Tier()))
		for _, r := range rules {
			if r.Action == guard.ActionDeny {
				log.warn(fmt.Sprintf("rule %s: nothing can be refused in the signal tier, so it kills (SIGKILL) instead", r.Name), "rule", r.Name)
			}
		}
	}
	for i, r := range rules {
		log.info(fmt.Sprintf("rule %d %s: %s", i+1, r.Name, r), "rule", r.Name, "index", i+1, "enforces", r.String())
	}
	for _, route := range g.OpenRoutes() {
		log.warn(fmt.Sprintf("open route: %s", route), "open_route", fmt.Sprint(route))
	}
	describePin(log, g)
}

// check validates a policy file and says what it would enforce.
func check(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		loggerFor(stderr).error("check takes one policy file: sigguard check FILE")
		return exitUsage
	}
	cfg, err := policy.Load(args[0])
	if err != nil {
		loggerFor(stderr).error(err.Error())
		return exitUsage
	}
	checkNotices(cfg, stderr)
	hooks := map[guard.Syscall]bool{}
	for i, r := range cfg.Rules {
		fmt.Fprintf(stdout, "rule %d %s: %s\n", i+1, r.Name, r)
		for _, s := range r.GuardedSyscalls() {
			hooks[s] = true
		}
	}
	var hooked []string
	for s := range hooks {
		hooked = append(hooked, s.String())
	}
	sort.Strings(hooked)
	fmt.Fprintf(stdout, "%s: %d rules; hooks: %s\n", args[0], len(cfg.Rules), strings.Join(hooked, ", "))
	return exitOK
}

// summarize says on stderr what the guard did, in all and per rule.
func summarize(w io.Writer, g *guard.Guard) error {
	log := loggerFor(w)
	stats, err := g.Stats()
	if err != nil {
		return err
	}
	log.info(stoppedLine(stats), "interventions", stats.Interventions, "denied", stats.Denied, "signals_sent", stats.Signalled,
		"failed_sends", stats.FailedSends, "held_back", stats.HeldBack, "events_lost", stats.EventsLost, "missed_runs", stats.MissedRuns,
		"kills_confirmed", stats.Confirmed, "kills_unconfirmed", stats.Unconfirmed)
	rules, err := g.RuleStats()
	if err != nil {
		return err
	}
	for _, r := range rules {
		log.info(ruleLine(r), "rule", r.Rule, "matched", r.Matched, "denied", r.Denied, "signals_sent", r.Signalled, "failed_sends", r.FailedSends,
			"held_back", r.HeldBack)
	}
	if dir := g.PinDir(); dir != "" {
		log.info(fmt.Sprintf("still enforcing: pinned at %s (sigguard status --pin-dir %s; sigguard unpin --pin-dir %s stops it)", dir, dir, dir), "pin_dir", dir)
	}
	return nil
}

// stoppedLine and ruleLine are the summary's words (the README shows them).
func stoppedLine(s guard.Stats) string {
	return fmt.Sprintf("stopped: %d interventions, %d calls denied, %d signals sent, %d failed sends, %d held back, %d events lost, %d missed runs; %d kills confirmed by exit, %d not",
		s.Interventions, s.Denied, s.Signalled, s.FailedSends, s.HeldBack, s.EventsLost, s.MissedRuns, s.Confirmed, s.Unconfirmed)
}

func ruleLine(r guard.RuleStats) string {
	return fmt.Sprintf("rule %s: %d matched, %d denied, %d signals sent, %d failed sends, %d held back", r.Rule, r.Matched, r.Denied,
		r.Signalled, r.FailedSends, r.HeldBack)
}

// writeReadyFile writes our pid to a temporary file and renames it into
// place, so that whoever sees the file sees it whole.
func writeReadyFile(path string) error {
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("write ready file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write ready file: %w", err)
	}
	return nil
}
