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
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/bench"
	"github.com/sigguard/sigguard/internal/metrics"
	"github.com/sigguard/sigguard/internal/output"
	"github.com/sigguard/sigguard/internal/policy"
	"github.com/sigguard/sigguard/internal/watchdog"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the guard could not start or stopped on an error
	exitUsage   = 2 // bad input; nothing was loaded
)

// Version is set at build time (-ldflags "-X ...cli.Version=v1.2.3").
var Version = "dev"

// Main runs sigguard with args (without the program name) until ctx ends
// and returns the exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "check":
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
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "sigguard: %v (see sigguard --help)\n", err)
		return exitUsage
	case opts.help:
		fmt.Fprint(stdout, usage(fs))
		return exitOK
	case opts.version:
		fmt.Fprintln(stdout, versionLine())
		return exitOK
	}
	if err := run(ctx, opts, stdout, stderr); err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "sigguard: %v (see sigguard --help)\n", err)
			return exitUsage
		}
		var pe *policy.Error
		if errors.As(err, &pe) {
			fmt.Fprintf(stderr, "sigguard: %v\n", err)
			return exitUsage
		}
		var ce *guard.ConfigError
		if errors.As(err, &ce) {
			fmt.Fprintf(stderr, "sigguard: %s (see sigguard --help)\n", opts.explain(ce))
			return exitUsage
		}
		fmt.Fprintf(stderr, "sigguard: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// run guards until ctx ends. When it returns, nothing is left attached.
func run(ctx context.Context, opts options, stdout, stderr io.Writer) (err error) {
	// A ready file left by an earlier run must not announce this one.
	if opts.readyFile != "" {
		if err := os.Remove(opts.readyFile); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("remove stale ready file: %w", err)
		}
	}
	// Bind before anything is loaded: a port in use is bad input.
	var metricsListener net.Listener
	if opts.metrics != "" {
		if metricsListener, err = net.Listen("tcp", opts.metrics); err != nil {
			return usagef("--metrics-addr %s: %v (choose a free port)", opts.metrics, err)
		}
		defer metricsListener.Close()
	}
	cfg := opts.config()
	if opts.policy != "" {
		if cfg, err = policy.Load(opts.policy); err != nil {
			return err
		}
	}
	cfg.PinDir = opts.pinning()
	cfg.Tier = opts.tier
	g, err := guard.Start(cfg)
	if err != nil {
		return err
	}
	// Deferred first, so it runs after Close: the last notices are printed.
	defer relayNotices(g, stderr)()
	defer func() {
		if cerr := g.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("unload: %w", cerr)
		}
	}()
	describe(stderr, g, cfg.Rules)
	if g.Tier() == guard.TierSignal {
		// An attach on sigguard itself still stops it in this tier.
		stopWatchdog, err := watchdog.Start()
		if err != nil {
			fmt.Fprintf(stderr, "sigguard: warning: %v: an attach on sigguard itself would leave it stopped\n", err)
		} else {
			defer stopWatchdog()
		}
	}
	if opts.policy != "" {
		stop := reloadOnChange(g, opts.policy, stderr)
		defer stop()
	}

	observe := func(*guard.Event) {}
	if metricsListener != nil {
		m := metrics.New(g)
		server := &http.Server{Handler: http.NewServeMux(), ReadHeaderTimeout: 5 * time.Second}
		server.Handler.(*http.ServeMux).Handle("/metrics", m.Handler())
		go server.Serve(metricsListener)
		// Before the guard closes (deferred earlier, so run later): no
		// scrape may read its maps as they go.
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			server.Shutdown(ctx)
		}()
		observe = m.Observe
		fmt.Fprintf(stderr, "sigguard: metrics at http://%s/metrics\n", metricsListener.Addr())
	}

	w := output.New(opts.output, stdout)
	if err := w.Begin(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if opts.readyFile != "" {
		if err := writeReadyFile(opts.readyFile); err != nil {
			return err
		}
		defer os.Remove(opts.readyFile)
	}

	runErr := g.Run(ctx, func(ev *guard.Event) error {
		observe(ev)
		if err := w.Write(ev); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		return nil
	})
	return errors.Join(runErr, summarize(stderr, g))
}

// describe says on stderr what is enforced: the tier, the hooks, each rule.
func describe(w io.Writer, g *guard.Guard, rules []guard.Rule) {
	var hooked []string
	for _, s := range g.Hooked() {
		hooked = append(hooked, s.String())
	}
	compat := "not hooked (add compat: true to a policy to catch them)"
	if g.Compat() {
		compat = "hooked"
	}
	fmt.Fprintf(w, "sigguard: tier %s (%s); hooked: %s; 32-bit syscalls: %s\n",
		g.Tier(), g.Tier().Limits(), strings.Join(hooked, ", "), compat)
	for _, why := range g.TierPassedOver() {
		fmt.Fprintf(w, "sigguard: tier %s\n", why)
	}
	if g.Tier() == guard.TierSignal {
		fmt.Fprintln(w, "sigguard: warning: the signal tier cannot prevent what a call does before its signal lands: "+
			"PTRACE_ATTACH and SEIZE attach (the victim is stopped until sigguard resumes it), TRACEME, SETREGS, POKEUSER and KILL "+
			"take effect; the calling thread's own reads and writes of memory do not go through (open routes below)")
		for _, r := range rules {
			if r.Action == guard.ActionDeny {
				fmt.Fprintf(w, "sigguard: warning: rule %s: nothing can be refused in the signal tier, so it kills (SIGKILL) instead\n", r.Name)
			}
		}
	}
	for i, r := range rules {
		fmt.Fprintf(w, "sigguard: rule %d %s: %s\n", i+1, r.Name, r)
	}
	for _, route := range g.OpenRoutes() {
		fmt.Fprintf(w, "sigguard: warning: open route: %s\n", route)
	}
	describePin(w, g)
}

// check validates a policy file and says what it would enforce.
func check(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "sigguard: check takes one policy file: sigguard check FILE")
		return exitUsage
	}
	cfg, err := policy.Load(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "sigguard: %v\n", err)
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
	stats, err := g.Stats()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "sigguard: stopped: %d interventions, %d calls denied, %d signals sent, %d failed sends, %d events lost, %d missed runs; %d kills confirmed by exit, %d not\n",
		stats.Interventions, stats.Denied, stats.Signalled, stats.FailedSends, stats.EventsLost, stats.MissedRuns, stats.Confirmed, stats.Unconfirmed)
	rules, err := g.RuleStats()
	if err != nil {
		return err
	}
	for _, r := range rules {
		fmt.Fprintf(w, "sigguard: rule %s: %d matched, %d denied, %d signals sent, %d failed sends\n", r.Rule, r.Matched, r.Denied, r.Signalled, r.FailedSends)
	}
	if dir := g.PinDir(); dir != "" {
		fmt.Fprintf(w, "sigguard: still enforcing: pinned at %s (sigguard status --pin-dir %s; sigguard unpin --pin-dir %s stops it)\n", dir, dir, dir)
	}
	return nil
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

func versionLine() string {
	ebpfVersion := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/cilium/ebpf" {
				ebpfVersion = dep.Version
			}
		}
	}
	return fmt.Sprintf("sigguard %s (%s, cilium/ebpf %s)", Version, runtime.Version(), ebpfVersion)
}
