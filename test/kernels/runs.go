package main

import "path/filepath"

// testRun is one run of a test binary in the guest, with the tests it runs.
type testRun struct {
	name string // names the run in the console markers and the report
	pkg  string // the test binary's package
	run  string // -test.run; "" runs every test
	skip string // -test.skip; "" skips none
	only string // the one target that runs it; "" every target of the list
}

// bin names the test binary, bin().test, after its package's directory.
func (r testRun) bin() string { return filepath.Base(r.pkg) }

// fullRuns are the privileged tests every guest runs (but one, below;
// the last run, only the coverage target). Under software emulation a
// guard start (BPF verification mostly) takes 1 to 6 seconds, so the
// whole guard package (about 4 minutes a kernel) does not fit the
// matrix's 10 minutes. This subset does, with what differs between
// kernels:
//   - the kill of a ptrace caller (attach), proof of kill, collateral
//     clean-up (a running attach victim is resumed; an attacked own child
//     reaped only where the attach ran), reload without a gap;
//   - policy matching in the kernel: cgroup subtree (walked with CO-RE),
//     target cgroup, exe by inode, exceptions;
//   - every memory route once: ptrace and /proc/<pid>/mem at their
//     tracepoints and through the deny hook, process_vm_writev and
//     pidfd_getfd through the deny hook, perf_event_open at its
//     tracepoint in a deny tier;
//   - the tier choice (SIGGUARD_EXPECT_TIER), each deny tier forced in
//     turn, EPERM with and without a signal, the victim left untouched;
//   - pinning from 5.15, and its refusal before;
//   - targets resolved as the kernel does: self-access in and out of a
//     pid namespace never matched (the false-positive suite, in the deny
//     tier: this machine runs it in the signal tier), and an attacker in
//     its victim's pid namespace caught (process_vm_writev, from the host
//     and from inside);
//   - the generic route: an argument condition at entry, a result
//     condition at exit (their programs are the largest the verifier
//     sees), and in a deny tier the veto of a syscall's function, which
//     returns the rule's errno before the body runs;
//   - the built binary end to end (the tier it picks, a refused or
//     killed attach, its event);
//   - the kernel side's target resolution and matching on their own,
//     run with BPF_PROG_TEST_RUN (internal/bpf/unittest): the pid tree
//     walk, pidfds (anonymous inodes before 6.9, pidfs after), proc
//     inodes, and matching_rules over compiled rules; no guard starts,
//     so they cost seconds. The helper they re-execute is not a test.
//   - on one kernel only, the bypass suite in the lsm tier: every route
//     sigguard knows, attacked, for README.md's lsm coverage table (the
//     CI machine's kernel offers the signal tier only). One kernel is
//     enough: the deny hook is the kernel's ptrace access check, which
//     every route passes on every kernel; the other kernels run a route
//     of each kind above. It takes about 45 s of the sid guest's 4
//     minutes (measured alone: 3m29s without it, 3m59s with it): two
//     guard starts of about 15 s each (the second with the 32-bit hooks),
//     and 15 s for the 49 attacks.
//
// Tests that drive strace, gdb or setpriv are left out: the guest has
// none. go test matches -test.run level by level, so the second run's
// subtest names apply to each of its tests.
var fullRuns = []testRun{
	{name: "guard", pkg: "./guard", run: "^(" +
		"TestUnconfirmedKillIsReportedOnce|TestTierIsTheBestTheKernelOffers|" +
		"TestDenyTierReturnsEPERMAndSignals|TestDenyTierKillsPerfEventOpenAtEntry|" +
		"TestPinningBefore515IsRefused|TestPinnedGuardOutlivesItsProcessAndIsAdopted|TestReloadLeavesNoGap|" +
		"TestOwnChildIsReapedOnlyWhenTheAttachRan|TestBPFMatch|" +
		"TestGenericRuleJudgesArguments|TestFailsWithIsJudgedAtExit|TestGenericDenyRefusesBeforeTheBodyRuns" +
		")$"},
	{name: "guard-subtests", pkg: "./guard", run: "^(" +
		"TestKillsPtraceCallersBeforeTheCallReturns|TestMatchers|TestEveryMemoryRouteIsGuarded|" +
		"TestDenyRefusesBeforeTheCallTakesEffect|TestEveryDenyTierTheKernelOffersRefuses|" +
		"TestAttachVictimIsResumedOnlyIfItWasRunning|" +
		"TestFalsePositiveSelfAccess|TestPidNamespaceAttackerNamingItsVictimByANamespacePidIsKilled" +
		")$/^(" +
		"attach|mem-openat|vm-writev-marker|pidfd-getfd|lsm|fmod_ret|running_victim_is_resumed|process_vm_writev|" +
		"cgroup_covers_its_subtree|target_cgroup_protected|exe_follows_the_inode,_not_the_name|except_exempts" +
		")$",
		// attach and pidfd-getfd are there for the other tests: the ptrace
		// tracepoint is TestKills', and pidfd_getfd's is not worth the
		// seconds.
		skip: "^TestEveryMemoryRouteIsGuarded$/^(attach|pidfd-getfd)$"},
	{name: "bpf-unit", pkg: "./internal/bpf/unittest", run: "^TestBPF", skip: "^TestBPFHelperProcess$"},
	{name: "e2e", pkg: "./test/e2e", run: "^TestBinaryPicksTheBestTier$"},
	{name: "coverage", pkg: "./guard", run: "^TestBypassSuite$", only: coverageTarget},
}

// tierRuns are what the boots without bpf in lsm= run: each kernel is
// also booted with it, so only what the LSM list changes is run again,
// the tier choice and the deny tests.
var tierRuns = []testRun{
	{name: "guard", pkg: "./guard", run: "^(" +
		"TestTierIsTheBestTheKernelOffers|TestDenyTierReturnsEPERMAndSignals|" +
		"TestDenyTierKillsPerfEventOpenAtEntry|TestGenericDenyRefusesBeforeTheBodyRuns" +
		")$"},
	{name: "guard-subtests", pkg: "./guard",
		run: "^(TestDenyRefusesBeforeTheCallTakesEffect|TestEveryDenyTierTheKernelOffersRefuses)$/^(" +
			"attach|mem-openat|vm-writev-marker|pidfd-getfd|lsm|fmod_ret" +
			")$"},
	{name: "e2e", pkg: "./test/e2e", run: "^TestBinaryPicksTheBestTier$"},
}

// testBinaries is one run per test binary of either list.
func testBinaries() []testRun {
	var out []testRun
	seen := map[string]bool{}
	for _, r := range append(append([]testRun{}, fullRuns...), tierRuns...) {
		if !seen[r.bin()] {
			seen[r.bin()] = true
			out = append(out, r)
		}
	}
	return out
}
