package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/sigguard/sigguard/internal/bench"
)

// benchMain runs `sigguard bench`: everything in a cgroup of its own,
// killing only the processes it starts.
func benchMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("sigguard bench", pflag.ContinueOnError)
	fs.SetOutput(discard{})
	runs := fs.Int("runs", 100, "escape-window runs per approach")
	asJSON := fs.Bool("json", false, "print the raw figures as JSON instead of tables")
	plot := fs.String("plot", "", "also draw the escape window into `FILE` (SVG)")
	only := fs.StringSlice("only", nil, "run only these `STEPS` ("+strings.Join(bench.Steps(), ", ")+")")
	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		return printHelp(stdout, benchUsage, fs)
	}
	if err != nil || fs.NArg() > 0 || *runs < 1 {
		msg := fmt.Sprint(err)
		if err == nil {
			msg = "bench takes --runs N (N >= 1), --json and --plot FILE"
		}
		loggerFor(stderr).error(fmt.Sprintf("bench: %s (see sigguard --help)", msg))
		return exitUsage
	}
	for _, step := range *only {
		if !slices.Contains(bench.Steps(), step) {
			loggerFor(stderr).error(fmt.Sprintf("bench: --only %s: no such step (the steps are %s)", step, strings.Join(bench.Steps(), ", ")))
			return exitUsage
		}
	}
	if *plot != "" && !strings.HasSuffix(*plot, ".svg") {
		loggerFor(stderr).error(fmt.Sprintf("bench: --plot %s: only SVG is drawn (name a .svg file)", *plot))
		return exitUsage
	}
	if *plot != "" {
		if err := checkOutputPath("--plot", *plot); err != nil {
			loggerFor(stderr).error(fmt.Sprintf("bench: %v", err))
			return exitUsage
		}
	}
	self, err := os.Executable()
	if err != nil {
		loggerFor(stderr).error(fmt.Sprintf("bench: find own binary: %v", err))
		return exitFailure
	}
	report, err := bench.Run(ctx, bench.Options{Runs: *runs, Only: *only, Self: self, Progress: func(format string, a ...any) {
		fmt.Fprintf(stderr, format+"\n", a...)
	}})
	if err != nil {
		loggerFor(stderr).error(fmt.Sprintf("bench: %v", err))
		return exitFailure
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(report)
	} else {
		report.WriteTables(stdout)
	}
	if *plot != "" {
		f, err := os.Create(filepath.Clean(*plot))
		if err == nil {
			err = report.WriteSVG(f)
			f.Close()
		}
		if err != nil {
			loggerFor(stderr).error(fmt.Sprintf("bench: write plot: %v", err))
			return exitFailure
		}
	}
	return exitOK
}
