package main

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// printResult says how one kernel did, with the reasons when it failed.
func printResult(r *result) {
	verdict := "PASS"
	if !r.ok() {
		verdict = "FAIL"
	}
	fmt.Printf("kernels: %s %s %s: tier %s, %d passed, %d failed, %d skipped, %s\n",
		verdict, r.target.id, r.release, r.tier, len(r.passed), len(r.failed), len(r.skipped),
		r.elapsed.Round(time.Second))
	for _, p := range r.problems {
		fmt.Printf("kernels:   %s: %s\n", r.target.id, p)
	}
}

// printSummary ends the run with one line a CI log reader finds, in the
// "N passed, N failed" form; it returns whether every kernel passed.
func printSummary(results []*result, total time.Duration) bool {
	passed, failed := 0, 0
	for _, r := range results {
		if r.ok() {
			passed++
		} else {
			failed++
		}
	}
	fmt.Printf("kernels: matrix took %s\n", total.Round(time.Second))
	fmt.Printf("kernels: %d passed, %d failed\n", passed, failed)
	return failed == 0
}

// writeDoc writes docs/kernels.md from a whole run of the matrix.
func writeDoc(path string, results []*result, stats runStats) error {
	var b strings.Builder
	b.WriteString(docHead)
	b.WriteString("| kernel (Debian suite) | boot | deny tiers that refused a call | deny rule on any syscall | tier chosen | suite | tests passed / failed / skipped | time |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		verdict := "pass"
		if !r.ok() {
			verdict = "**FAIL**: " + strings.Join(r.problems, "; ")
		}
		offered := strings.Join(r.offered, ", ")
		if offered == "" {
			offered = "none"
		}
		veto := r.veto
		if veto == "" {
			veto = "not run"
		}
		fmt.Fprintf(&b, "| %s (%s) | lsm=%s | %s | %s | %s | %s | %d / %d / %d | %s |\n",
			r.release, strings.Join(r.target.suites, ", "), bootLSM(r.target), offered, veto, r.tier, verdict,
			len(r.passed), len(r.failed), len(r.skipped), r.elapsed.Round(time.Second))
	}
	fmt.Fprintf(&b, "\nWhole matrix: %s on %s, %d guest(s) at a time on 2 vCPUs of single-threaded TCG each; "+
		"apt lists and kernels took %s (%d of %d kernels downloaded, the rest from the cache).\n",
		stats.total.Round(time.Second), time.Now().UTC().Format("2006-01-02"), stats.jobs,
		stats.fetch.Round(time.Second), stats.downloaded, stats.kernels)
	b.WriteString(docTail())
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func bootLSM(t target) string {
	if t.lsm == lsmWithBPF {
		return "...,bpf"
	}
	return "without bpf"
}

const docHead = `# Kernels

sigguard's privileged tests run on every Debian kernel line from 5.10 to the newest, each booted
under QEMU. This table is written by the matrix itself (` + "`go run ./test/kernels -doc docs/kernels.md`" + `);
edit the generator in test/kernels, not the table.

`

// docTail explains the table's columns and the subset the guests run.
func docTail() string {
	var b strings.Builder
	b.WriteString(`
- **kernel**: the release the guest reported, from the suite's ` + "`" + metapackage + "`" + ` as the
  archive resolved it on the day of the run (names are never hard-coded, so ABI bumps need no change).
- **boot**: ` + "`lsm=" + lsmWithBPF + "`" + ` makes BPF LSM active; the rows with another boot boot 5.10 and the newest kernel without it
  (` + "`lsm=" + lsmWithoutBPF + "`" + `), where an LSM program attaches and never runs and sigguard must fall
  back to fmod_ret.
- **deny tiers that refused a call**: each deny tier was forced in turn and had to refuse a
  PTRACE_ATTACH with EPERM, leaving the victim running and untraced; the signal tier works everywhere.
- **deny rule on any syscall**: what a deny rule on setpriority (the generic route) did in the
  tier chosen: refused the call before its body ran (an fmod_ret program on the syscall's
  function), or, where the kernel lets no program change a syscall's return value, killed the
  caller at the call's entry (TestGenericDenyRefusesBeforeTheBodyRuns).
- **tier chosen**: what sigguard took when left to choose; the run fails unless it is the row's
  expected tier (lsm, or fmod_ret without bpf in lsm=).
- **tests**: top-level tests (subtests count with their parent). A skip fails the run unless the
  kernel's version rules the test out (pinning needs 5.15; the refusal test runs only before it).

Tests that run in each guest (` + "`-test.run`" + ` of each test binary; the reasons are in
test/kernels/runs.go):

`)
	writeRuns(&b, fullRuns)
	b.WriteString("\nThe boots without bpf in lsm= (each kernel also booted with it) run only the tier and deny tests:\n\n")
	writeRuns(&b, tierRuns)
	return b.String()
}

func writeRuns(b *strings.Builder, runs []testRun) {
	for _, s := range runs {
		fmt.Fprintf(b, "- %s (`%s`): `%s`", s.name, s.pkg, s.run)
		if s.skip != "" {
			fmt.Fprintf(b, ", skipping `%s`", s.skip)
		}
		if s.only != "" {
			fmt.Fprintf(b, ", on %s only (README.md's lsm coverage table)", s.only)
		}
		b.WriteString("\n")
	}
}
