// Package cli is sigguard's command line: it parses flags, runs a guard and
// turns what happens into output and an exit status.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/output"
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
	g, err := guard.Start(opts.config())
	if err != nil {
		return err
	}
	defer func() {
		if cerr := g.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("unload: %w", cerr)
		}
	}()
	for _, r := range g.Rules() {
		fmt.Fprintf(stderr, "sigguard: guarding ptrace (tier %s: %s): %s\n", g.Tier(), g.Tier().Limits(), r)
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
		if err := w.Write(ev); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		return nil
	})
	stats, statsErr := g.Stats()
	if statsErr == nil {
		fmt.Fprintf(stderr, "sigguard: stopped: %d interventions, %d signals sent, %d failed sends, %d events lost, %d missed runs\n",
			stats.Interventions, stats.Signalled, stats.FailedSends, stats.EventsLost, stats.MissedRuns)
	}
	return errors.Join(runErr, statsErr)
}

func writeReadyFile(path string) error {
	content := fmt.Sprintf("%d\n", os.Getpid())
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
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
