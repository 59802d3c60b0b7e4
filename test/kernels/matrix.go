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
	// short runs this list instead of fullRuns: another boot of the same
	// kernel already ran the rest (tierRuns), or the boot is for what
	// its build adds (vetoRuns).
	short []testRun
	// build names a kernel the matrix builds from the suite's source
	// (builds); "": Debian's own.
	build string
}

// testRuns are the runs of the target's list that apply to it.
func (t target) testRuns() []testRun {
	list := fullRuns
	if t.short != nil {
		list = t.short
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
	{"bullseye", []string{"bullseye", "bullseye-security"}, lsmWithBPF, "lsm", nil, ""},
	{"bookworm", []string{"bookworm", "bookworm-security"}, lsmWithBPF, "lsm", nil, ""},
	{"bookworm-backports", []string{"bookworm-backports"}, lsmWithBPF, "lsm", nil, ""},
	{"trixie", []string{"trixie", "trixie-security"}, lsmWithBPF, "lsm", nil, ""},
	{"trixie-backports", []string{"trixie-backports"}, lsmWithBPF, "lsm", nil, ""},
	{"sid", []string{"sid"}, lsmWithBPF, "lsm", nil, ""},
	{"bullseye-nolsm", []string{"bullseye", "bullseye-security"}, lsmWithoutBPF, "fmod_ret", tierRuns, ""},
	// bookworm's kernel built with error injection, which no Debian
	// kernel has: the generic route's veto, in each deny tier.
	{"bookworm-errinj", []string{"bookworm", "bookworm-security"}, lsmWithBPF, "lsm", vetoRuns, "errinj"},
	{"bookworm-errinj-nolsm", []string{"bookworm", "bookworm-security"}, lsmWithoutBPF, "fmod_ret", vetoRuns, "errinj"},
}

// aptKey names the private apt configuration of a suite list: runs from
// the same suites share lists and downloads.
func (t target) aptKey() string { return strings.Join(t.suites, "+") }

// imageKey names the kernel a target boots: the suite's, or a build of it.
func (t target) imageKey() string {
	if t.build == "" {
		return t.aptKey()
	}
	return t.aptKey() + "+" + t.build
}

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
