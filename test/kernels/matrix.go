package main

import (
	"fmt"
	"strings"
)

// lsmWithBPF is the LSM list the matrix boots with: Debian's default
// order plus bpf, which BPF LSM programs need to run at all. Names a
// kernel does not know (landlock before 5.13) are ignored by it.
const lsmWithBPF = "lockdown,capability,landlock,yama,apparmor,bpf"

// lsmWithoutBPF leaves bpf out: the LSM program would attach and never
// run, so sigguard must fall back to fmod_ret.
const lsmWithoutBPF = "lockdown,capability,yama,apparmor"

// target is one boot of the matrix: a Debian suite's current cloud
// kernel, an LSM list, and the deny tier sigguard must choose there.
type target struct {
	id     string   // names the run, its log and its row in docs/kernels.md
	suites []string // where the kernel comes from; the newest candidate wins
	lsm    string
	tier   string // SIGGUARD_EXPECT_TIER: the tier sigguard must choose, "lsm" or "fmod_ret"
	// tierOnly runs tierRuns instead of fullRuns: another boot of the
	// same kernel already ran the rest.
	tierOnly bool
}

// testRuns are the runs of the target's list that apply to it.
func (t target) testRuns() []testRun {
	list := fullRuns
	if t.tierOnly {
		list = tierRuns
	}
	var out []testRun
	for _, r := range list {
		if r.only == "" || r.only == t.id {
			out = append(out, r)
		}
	}
	return out
}

// targets is the matrix: every Debian kernel line from 5.10 to the
// newest, each resolved through the archive at run time.
var targets = []target{
	{"bullseye", []string{"bullseye", "bullseye-security"}, lsmWithBPF, "lsm", false},
	{"bookworm", []string{"bookworm", "bookworm-security"}, lsmWithBPF, "lsm", false},
	{"bookworm-backports", []string{"bookworm-backports"}, lsmWithBPF, "lsm", false},
	{"trixie", []string{"trixie", "trixie-security"}, lsmWithBPF, "lsm", false},
	{"trixie-backports", []string{"trixie-backports"}, lsmWithBPF, "lsm", false},
	{"sid", []string{"sid"}, lsmWithBPF, "lsm", false},
	{"bullseye-nolsm", []string{"bullseye", "bullseye-security"}, lsmWithoutBPF, "fmod_ret", true},
	// From 7.x the kernel lets fmod_ret change a syscall's return: the
	// generic route's veto, in the fmod_ret tier too.
	{"sid-nolsm", []string{"sid"}, lsmWithoutBPF, "fmod_ret", true},
}

// aptKey names the private apt configuration of a suite list: runs from
// the same suites share lists and downloads.
func (t target) aptKey() string { return strings.Join(t.suites, "+") }

// selectTargets picks targets by id ("" or "all": every one).
func selectTargets(list string) ([]target, error) {
	if list == "" || list == "all" {
		return targets, nil
	}
	var picked []target
	for _, id := range strings.Split(list, ",") {
		t, ok := findTarget(strings.TrimSpace(id))
		if !ok {
			return nil, fmt.Errorf("unknown kernel %q (known: %s)", id, targetIDs())
		}
		picked = append(picked, t)
	}
	return picked, nil
}

func findTarget(id string) (target, bool) {
	for _, t := range targets {
		if t.id == id {
			return t, true
		}
	}
	return target{}, false
}

func targetIDs() string {
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i] = t.id
	}
	return strings.Join(ids, ", ")
}
