package main

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sigguard/sigguard/test/kernels/plan"
)

// result is what one guest showed.
type result struct {
	target   target
	release  string         // uname -r in the guest
	tier     string         // what sigguard chose, left to itself
	offered  []string       // deny tiers that refused a call there
	passed   []string       // top-level tests, by outcome
	failed   []string       // (subtests count with their parent)
	skipped  []string       //
	exits    map[string]int // per suite
	done     bool           // /init reached the end of its plan
	crash    []string       // the guest kernel's Oops, BUG or WARNING, and where
	problems []string       // why the run fails; none: it passed
	elapsed  time.Duration  // boot to power-off
	coverage []string       // the coverage table TestBypassSuite logged, by line
	veto     string         // what a deny rule on any syscall did, as its test logged it
}

func (r *result) ok() bool { return len(r.problems) == 0 }

var (
	testLine    = regexp.MustCompile(`^--- (PASS|FAIL|SKIP): (\S+) \(`)
	tierLine    = regexp.MustCompile(`: tier (\w+); passed over: `)
	offeredLine = regexp.MustCompile(`: deny tier (\w+): refuses`)
	vetoLine    = regexp.MustCompile(`: generic veto: (.+)$`)
	// The kernel's own report of a fault in itself: an Oops (a trap it
	// cannot handle), a BUG, a WARNING, or the panic that follows; and the
	// RIP line that says where. Only the first report and its RIP are
	// kept: what follows is usually its consequence.
	crashLine = regexp.MustCompile(`\] (Oops: .*|BUG: .*|WARNING: .*|Kernel panic - .*)$`)
	ripLine   = regexp.MustCompile(`\] RIP: 0010:(\S+)`)
)

// parseConsole reads the guest's console: /init's markers, go test -v's
// top-level outcome lines, the tier lines the deny tests log, and the
// coverage table the bypass suite logs.
func parseConsole(lines []string, r *result) {
	r.exits = map[string]int{}
	for _, line := range lines {
		if rest, ok := strings.CutPrefix(line, plan.MarkerPrefix); ok {
			parseMarker(rest, r)
			continue
		}
		if m := testLine.FindStringSubmatch(line); m != nil {
			switch m[1] {
			case "PASS":
				r.passed = append(r.passed, m[2])
			case "FAIL":
				r.failed = append(r.failed, m[2])
			case "SKIP":
				r.skipped = append(r.skipped, m[2])
			}
		}
		if m := tierLine.FindStringSubmatch(line); m != nil {
			r.tier = m[1]
		}
		if _, row, ok := strings.Cut(line, plan.CoveragePrefix); ok {
			r.coverage = append(r.coverage, strings.TrimPrefix(row, " "))
		}
		noteCrash(line, r)
		if m := offeredLine.FindStringSubmatch(line); m != nil && !slices.Contains(r.offered, m[1]) {
			r.offered = append(r.offered, m[1])
		}
		if m := vetoLine.FindStringSubmatch(line); m != nil {
			r.veto = m[1]
		}
	}
}

// noteCrash keeps the guest kernel's first fault report and the kernel
// address it names, so a crash is told apart from a test that failed.
func noteCrash(line string, r *result) {
	if m := crashLine.FindStringSubmatch(line); m != nil && len(r.crash) == 0 {
		r.crash = append(r.crash, m[1])
	}
	if m := ripLine.FindStringSubmatch(line); m != nil && len(r.crash) == 1 {
		r.crash = append(r.crash, "at "+m[1])
	}
}

func parseMarker(rest string, r *result) {
	verb, args, _ := strings.Cut(rest, " ")
	switch verb {
	case "kernel":
		r.release = args
	case "exit":
		name, code, _ := strings.Cut(args, " ")
		n, err := strconv.Atoi(code)
		if err != nil {
			n = -1
		}
		r.exits[name] = n
	case "done":
		r.done = true
	case "error":
		r.problems = append(r.problems, "guest: "+args)
	}
}

// judge decides the run: every suite ran to exit status 0 with no test
// failed, sigguard chose the tier this boot must give, and no test was
// skipped except those the kernel's version rules out, so a deny or pin
// test that skips where it should run fails the matrix.
func judge(r *result) {
	if len(r.crash) > 0 {
		r.problems = append(r.problems, "the guest kernel faulted: "+strings.Join(r.crash, " "))
	}
	if !r.done {
		r.problems = append(r.problems, "the guest did not finish its plan (see the log)")
	}
	for _, s := range r.target.testRuns() {
		code, ok := r.exits[s.name]
		switch {
		case !ok:
			r.problems = append(r.problems, s.name+": did not run")
		case code != 0:
			r.problems = append(r.problems, fmt.Sprintf("%s: exit status %d", s.name, code))
		}
	}
	if len(r.failed) > 0 {
		r.problems = append(r.problems, "failed: "+strings.Join(r.failed, ", "))
	}
	if r.tier != r.target.tier {
		r.problems = append(r.problems, fmt.Sprintf("tier %q chosen, want %q", r.tier, r.target.tier))
	}
	// fmod_ret on security_* denies on every Debian kernel (measured in this matrix).
	for _, want := range []string{r.target.tier, "fmod_ret"} {
		if !slices.Contains(r.offered, want) {
			r.problems = append(r.problems, "deny tier "+want+" did not refuse an attach")
		}
	}
	pinnable := releaseAtLeast(r.release, 5, 15)
	for _, name := range r.skipped {
		if !skipAllowed(name, pinnable) {
			r.problems = append(r.problems, "skipped where it must run: "+name)
		}
	}
	if len(r.passed) == 0 {
		r.problems = append(r.problems, "no test passed")
	}
}

// needPinning are the tests that skip before Linux 5.15, where syscall
// tracepoint links cannot be pinned; TestPinningBefore515IsRefused runs
// only there.
var needPinning = []string{
	"TestPinnedGuardOutlivesItsProcessAndIsAdopted",
	"TestSecondGuardOnOnePinIsRefused",
	"TestPinHandoversLeaveNoGap",
	"TestPinnedGuardSurvivesKill9",
}

func skipAllowed(name string, pinnable bool) bool {
	if name == "TestPinningBefore515IsRefused" {
		return pinnable
	}
	return !pinnable && slices.Contains(needPinning, name)
}

// releaseAtLeast compares a uname release ("5.10.0-32-cloud-amd64").
func releaseAtLeast(release string, major, minor int) bool {
	var maj, min int
	if _, err := fmt.Sscanf(release, "%d.%d", &maj, &min); err != nil {
		return false
	}
	return maj > major || (maj == major && min >= minor)
}
