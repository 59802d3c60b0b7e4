// Command kernels runs sigguard's privileged tests on every Debian kernel
// line from 5.10 to the newest, each booted under QEMU, and says per
// kernel whether they passed. Run it as root from the module's root:
//
//	go run ./test/kernels [-kernels bullseye,sid] [-doc docs/kernels.md] [-readme] [-v]
//
// Kernels are resolved through the Debian archive (the suite's cloud
// kernel metapackage) with a private apt configuration, downloaded once
// into the cache directory, and booted with an initramfs holding a static
// /init and the test binaries built here. The sid guest also runs the
// bypass suite in the lsm tier, whose table README.md must show
// (coverage.go). Exit status: 0 when every kernel passed, 1 when any
// failed or the matrix could not run, 2 on bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"
)

type options struct {
	targets  []target // -kernels: the whole matrix, or those listed in their order
	cacheDir string
	doc      string
	readme   bool // rewrite README.md's lsm coverage table instead of failing when it differs
	echo     bool
	jobs     int
}

func main() {
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "kernels:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := run(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kernels:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var o options
	var kernels string
	fs := flag.NewFlagSet("kernels", flag.ContinueOnError)
	fs.StringVar(&kernels, "kernels", "all", "comma-separated kernels to run: "+targetIDs())
	fs.StringVar(&o.cacheDir, "cache", "/var/cache/sigguard-kernels",
		"where apt lists, kernels, built guests and console logs are kept between runs")
	fs.StringVar(&o.doc, "doc", "", "write the kernel support table to this file (docs/kernels.md); implies -readme")
	fs.BoolVar(&o.readme, "readme", false,
		"rewrite README.md's lsm coverage table with what the "+coverageTarget+" guest measured, instead of failing when it differs")
	fs.BoolVar(&o.echo, "v", false, "copy every guest's console to stdout")
	fs.IntVar(&o.jobs, "jobs", 2, "guests booted at once")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.jobs < 1 || o.jobs > 8 {
		return o, fmt.Errorf("-jobs %d: use 1 to 8", o.jobs)
	}
	picked, err := selectTargets(kernels)
	if err != nil {
		return o, err
	}
	o.targets = picked
	if o.doc != "" && kernels != "all" {
		return o, errors.New("-doc needs every kernel (leave out -kernels): the table is the whole matrix")
	}
	o.readme = o.readme || o.doc != ""
	if o.readme && !slices.ContainsFunc(picked, func(t target) bool { return t.id == coverageTarget }) {
		return o, errors.New("-readme needs the " + coverageTarget + " kernel: the lsm coverage table is measured there")
	}
	return o, nil
}

func run(ctx context.Context, o options) (bool, error) {
	start := time.Now()
	picked := o.targets
	if os.Geteuid() != 0 {
		return false, errors.New("run as root: apt installs QEMU, and the guests' tests are privileged")
	}
	moduleRoot, err := os.Getwd()
	if err != nil {
		return false, err
	}
	if _, err := os.Stat(filepath.Join(moduleRoot, "go.mod")); err != nil {
		return false, errors.New("run from the module's root (go run ./test/kernels)")
	}
	readme := filepath.Join(moduleRoot, "README.md")
	coverage, err := readmeCoverage(readme)
	if err != nil {
		return false, err
	}
	check := func(r *result) { checkCoverage(r, coverage, o.readme) }
	m, err := findMirrors()
	if err != nil {
		return false, err
	}
	if err := ensureHostTools(o.cacheDir, m); err != nil {
		return false, err
	}
	images, downloaded, err := fetchKernels(o.cacheDir, m, picked)
	if err != nil {
		return false, err
	}
	fetched := time.Since(start)
	workDir := filepath.Join(o.cacheDir, "work")
	common, err := buildGuest(moduleRoot, workDir)
	if err != nil {
		return false, fmt.Errorf("build the guest: %w", err)
	}
	built := time.Since(start) - fetched
	fmt.Printf("kernels: %d kernels resolved and fetched in %s, guest built in %s\n",
		len(images), fetched.Round(time.Second), built.Round(time.Second))
	results := runAll(ctx, o, picked, images, common, workDir, check)
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	stats := runStats{total: time.Since(start), fetch: fetched, downloaded: downloaded, kernels: len(images), jobs: o.jobs}
	allOK := printSummary(results, stats.total)
	if o.doc != "" {
		if err := writeDoc(o.doc, results, stats); err != nil {
			return false, fmt.Errorf("write %s: %w", o.doc, err)
		}
	}
	if o.readme {
		said, err := writeCoverage(readme, results)
		if err != nil {
			return false, fmt.Errorf("rewrite README.md's lsm coverage table: %w", err)
		}
		fmt.Println("kernels: README.md's lsm coverage table:", said)
	}
	return allOK, nil
}

// fetchKernels resolves and downloads each suite list's kernel once; it
// also says how many were not in the cache.
func fetchKernels(cacheDir string, m mirrors, picked []target) (map[string]kernelImage, int, error) {
	images := map[string]kernelImage{}
	downloaded := 0
	for _, t := range picked {
		if _, done := images[t.aptKey()]; done {
			continue
		}
		dir := filepath.Join(cacheDir, "apt", t.aptKey())
		root, err := newAptRoot(dir, m, t.suites, privateAptConf(dir))
		if err != nil {
			return nil, 0, fmt.Errorf("set up apt for %s: %w", t.aptKey(), err)
		}
		if err := root.update(); err != nil {
			return nil, 0, err
		}
		pkg, err := root.resolveKernel()
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", t.aptKey(), err)
		}
		path, fresh, err := root.fetchVmlinuz(pkg, filepath.Join(cacheDir, "kernels"))
		if err != nil {
			return nil, 0, err
		}
		if fresh {
			downloaded++
		}
		images[t.aptKey()] = kernelImage{pkg, path}
	}
	return images, downloaded, nil
}

// runStats is how long the matrix took, for docs/kernels.md.
type runStats struct {
	total, fetch        time.Duration
	downloaded, kernels int
	jobs                int
}

// kernelImage is a downloaded kernel.
type kernelImage struct {
	pkg  imagePackage
	path string
}

// runAll boots the targets, o.jobs guests at a time, and returns their
// results in the targets' order. check judges each result further, before
// it is printed.
func runAll(ctx context.Context, o options, picked []target, images map[string]kernelImage, common, workDir string,
	check func(*result)) []*result {
	results := make([]*result, len(picked))
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, o.jobs)
	for _, i := range longestFirst(picked) {
		t := picked[i]
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			r := runTarget(ctx, t, images[t.aptKey()], common, workDir, o.echo)
			check(r)
			mu.Lock()
			defer mu.Unlock()
			printResult(r)
			results[i] = r
		}()
	}
	wg.Wait()
	return results
}

// longestFirst orders the targets for booting so that guests in parallel
// end together: newer kernels take longer (their verifiers do more), and
// a tier-only boot is short, so it goes last.
func longestFirst(picked []target) []int {
	var order, last []int
	for i := len(picked) - 1; i >= 0; i-- {
		if picked[i].tierOnly {
			last = append(last, i)
		} else {
			order = append(order, i)
		}
	}
	return append(order, last...)
}

// runTarget boots one kernel with its plan and judges what it printed.
func runTarget(ctx context.Context, t target, img kernelImage, common, workDir string, echo bool) *result {
	r := &result{target: t}
	initrd := filepath.Join(workDir, t.id+".cpio")
	if err := guestImage(common, initrd, t); err != nil {
		r.problems = append(r.problems, "pack the initramfs: "+err.Error())
		return r
	}
	defer os.Remove(initrd)
	log := filepath.Join(workDir, t.id+".log")
	fmt.Printf("kernels: %s: booting %s (lsm=%s), console in %s\n", t.id, img.pkg.release, t.lsm, log)
	start := time.Now()
	lines, err := boot(ctx, img.path, initrd, t.lsm, log, echo)
	r.elapsed = time.Since(start)
	parseConsole(lines, r)
	if err != nil {
		r.problems = append(r.problems, err.Error())
	}
	judge(r)
	return r
}
