package main

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigguard/sigguard/internal/testenv"
)

func TestImageRelease(t *testing.T) {
	for depends, want := range map[string]string{
		"linux-image-5.10.0-32-cloud-amd64 (= 5.10.223-1)":                          "5.10.0-32-cloud-amd64",
		"linux-base-cloud-amd64 (= 7.2.13-1), linux-image-7.2.13+deb14-cloud-amd64": "7.2.13+deb14-cloud-amd64",
		"linux-base": "",
	} {
		if got := imageRelease(depends); got != want {
			t.Errorf("imageRelease(%q) = %q, want %q", depends, got, want)
		}
	}
}

func TestSourceURIs(t *testing.T) {
	text := "deb [signed-by=/k.gpg arch=amd64] http://a/debian bookworm main\n" +
		"# deb http://commented/debian x main\n" +
		"Types: deb\nURIs: http://b/debian-security\nSuites: bookworm-security\n"
	got := sourceURIs(text)
	if want := []string{"http://a/debian", "http://b/debian-security"}; !slices.Equal(got, want) {
		t.Errorf("sourceURIs = %q, want %q", got, want)
	}
}

func TestParseConsoleAndJudge(t *testing.T) {
	lines := []string{
		"sigguard-guest: kernel 5.10.0-46-cloud-amd64",
		"=== RUN   TestTierIsTheBestTheKernelOffers",
		`    deny_test.go:55: tier fmod_ret; passed over: ["lsm: BPF LSM is not active"]`,
		"--- PASS: TestTierIsTheBestTheKernelOffers (2.19s)",
		"    tiers_test.go:47: deny tier fmod_ret: refuses",
		"--- PASS: TestEveryDenyTierTheKernelOffersRefuses (3.00s)",
		"    --- PASS: TestEveryDenyTierTheKernelOffersRefuses/fmod_ret (1.00s)",
		"--- SKIP: TestPinnedGuardOutlivesItsProcessAndIsAdopted (0.00s)",
		"    generic_test.go:300: generic veto: refuses before the body (fmod_ret)",
		"--- PASS: TestGenericDenyRefusesBeforeTheBodyRuns (3.00s)",
		"sigguard-guest: exit guard 0",
		"sigguard-guest: exit guard-subtests 0",
		"sigguard-guest: exit bpf-unit 0",
		"sigguard-guest: exit e2e 0",
		"sigguard-guest: done",
	}
	nolsm, _ := findTarget("bullseye-nolsm")
	r := &result{target: nolsm}
	parseConsole(lines, r)
	judge(r)
	if !r.ok() || r.tier != "fmod_ret" || len(r.passed) != 3 || len(r.skipped) != 1 || r.veto != "refuses before the body (fmod_ret)" {
		t.Errorf("a good 5.10 run judged %+v", r)
	}

	// The same console where the lsm tier was expected fails, and so does
	// a skip of a test the kernel's version does not rule out.
	lsm, _ := findTarget("bullseye")
	r = &result{target: lsm}
	parseConsole(append(lines, "--- SKIP: TestDenyRefusesBeforeTheCallTakesEffect (0.1s)"), r)
	judge(r)
	if len(r.problems) != 3 {
		t.Errorf("want the tier, the lsm refusal and the skip as problems, got %q", r.problems)
	}

	// A guest kernel that faulted fails the run and says where, even if
	// every test line before the fault passed.
	oops := []string{
		"[  108.922997] Oops: int3: 0000 [#1] SMP NOPTI",
		"[  108.923748] RIP: 0010:trace_syscall_enter+0xd/0xb0",
		"[  108.929592] RIP: 0033:0x490217",
		"[  108.930626] RIP: 0010:trace_syscall_enter+0xd/0xb0",
		"[  108.930863] Kernel panic - not syncing: Fatal exception in interrupt",
	}
	r = &result{target: nolsm}
	parseConsole(append(slices.Clone(lines), oops...), r)
	judge(r)
	want := "the guest kernel faulted: Oops: int3: 0000 [#1] SMP NOPTI at trace_syscall_enter+0xd/0xb0"
	if !slices.Equal(r.problems, []string{want}) {
		t.Errorf("a guest that oopsed: problems %q, want only %q", r.problems, want)
	}
}

// The kernel must be able to unpack what the cpio writer makes; cpio(1),
// where installed, reads it back the same way (in CI it must be: deps.sh
// installs it).
func TestCPIORoundTrip(t *testing.T) {
	cpio := testenv.RequireCommand(t, "cpio")
	var buf bytes.Buffer
	c := newCPIO(&buf)
	for _, err := range []error{c.Dir("/a"), c.Dir("/a"), c.File("/a/f", 0o755, []byte("hello")), c.Symlink("/a/l", "f"), c.Close()} {
		if err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	cmd := exec.Command(cpio, "-i", "--quiet", "--no-absolute-filenames")
	cmd.Dir = dir
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio -i: %v: %s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "a/l")); err != nil || string(b) != "hello" {
		t.Errorf("a/l through the symlink: %q, %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "a/f")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("a/f: %v, %v", fi, err)
	}
}

func TestParseFlags(t *testing.T) {
	ids := func(ts []target) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.id)
		}
		return out
	}
	o, err := parseFlags(nil)
	if err != nil || !slices.Equal(ids(o.targets), ids(targets)) || o.jobs != 2 || o.doc != "" || o.readme {
		t.Errorf("no flags: %+v, %v; want every kernel, 2 jobs, no doc, README left alone", o, err)
	}
	for _, args := range [][]string{{"-doc", "docs/kernels.md"}, {"-kernels", "sid", "-readme"}, {"-readme"}} {
		if o, err := parseFlags(args); err != nil || !o.readme {
			t.Errorf("%q: %+v, %v; want README.md's lsm coverage table rewritten", args, o, err)
		}
	}
	o, err = parseFlags([]string{"-kernels", "sid, bullseye", "-jobs", "8", "-v"})
	if err != nil || !slices.Equal(ids(o.targets), []string{"sid", "bullseye"}) || o.jobs != 8 || !o.echo {
		t.Errorf("-kernels sid,bullseye -jobs 8 -v: %+v, %v", o, err)
	}
	for _, args := range [][]string{
		{"-doc", "docs/kernels.md"},
		{"-kernels", "all", "-doc", "docs/kernels.md"},
		{"-jobs", "1"},
	} {
		if _, err := parseFlags(args); err != nil {
			t.Errorf("%q refused: %v", args, err)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-kernels", "bullseye", "-doc", "docs/kernels.md"}, "-doc needs every kernel"},
		{[]string{"-kernels", "sid,bullseye-nolsm", "-doc", "x.md"}, "-doc needs every kernel"},
		{[]string{"-jobs", "0"}, "-jobs 0: use 1 to 8"},
		{[]string{"-jobs", "9"}, "-jobs 9: use 1 to 8"},
		{[]string{"-kernels", "bullseye,buster"}, `unknown kernel "buster"`},
		{[]string{"-kernels", "bullseye", "-readme"}, "-readme needs the sid kernel"},
		{[]string{"-v", "bullseye"}, `unexpected argument "bullseye"`},
	} {
		if _, err := parseFlags(c.args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one saying %q", c.args, err, c.want)
		}
	}
}

func TestIsVmlinuz(t *testing.T) {
	for name, want := range map[string]bool{
		"./boot/vmlinuz-5.10.0-32-cloud-amd64":                              true,
		"boot/vmlinuz-6.1.0-28-cloud-amd64":                                 true,
		"./usr/lib/modules/7.2.13+deb14-cloud-amd64/vmlinuz":                true, // from 7.x
		"./boot/System.map-5.10.0-32-cloud-amd64":                           false,
		"./boot/config-6.1.0-28-cloud-amd64":                                false,
		"./boot/":                                                           false,
		"./usr/lib/modules/7.2.13+deb14-cloud-amd64/":                       false,
		"./usr/lib/modules/7.2.13+deb14-cloud-amd64/vmlinuz.sig":            false,
		"./usr/lib/modules/7.2.13+deb14-cloud-amd64/kernel/fs/ext4/ext4.ko": false,
		"./usr/share/doc/linux-image-7.2.13+deb14-cloud-amd64/vmlinuz":      false,
	} {
		if got := isVmlinuz(name); got != want {
			t.Errorf("isVmlinuz(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestParseControl(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       map[string]string
	}{
		{"empty", "", map[string]string{}},
		{"fields", "Package: linux-image-cloud-amd64\nVersion: 5.10.223-1\n" +
			"Depends: linux-image-5.10.0-32-cloud-amd64 (= 5.10.223-1)\n",
			map[string]string{"Package": "linux-image-cloud-amd64", "Version": "5.10.223-1",
				"Depends": "linux-image-5.10.0-32-cloud-amd64 (= 5.10.223-1)"}},
		{"first stanza only", "Package: a\nVersion: 1\n\nPackage: a\nVersion: 2\n",
			map[string]string{"Package": "a", "Version": "1"}},
		{"continuation lines dropped, colons kept in values",
			"Description: Linux for cloud\n a continuation: not a field\n .\nHomepage: https://www.kernel.org/\n",
			map[string]string{"Description": "Linux for cloud", "Homepage": "https://www.kernel.org/"}},
	} {
		if got := parseControl(c.text); !maps.Equal(got, c.want) {
			t.Errorf("%s: parseControl = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestWriteDoc(t *testing.T) {
	bullseye, _ := findTarget("bullseye")
	nolsm, _ := findTarget("bullseye-nolsm")
	results := []*result{
		{target: bullseye, release: "5.10.0-32-cloud-amd64", tier: "lsm", offered: []string{"lsm", "fmod_ret"},
			veto:   "kills at entry (the kernel lets no program change a syscall's return)",
			passed: make([]string, 12), skipped: make([]string, 4), elapsed: 83400 * time.Millisecond},
		{target: nolsm, release: "5.10.0-32-cloud-amd64", tier: "signal",
			passed: make([]string, 3), failed: make([]string, 1), elapsed: 41 * time.Second,
			problems: []string{`tier "signal" chosen, want "fmod_ret"`, "failed: TestX"}},
	}
	path := filepath.Join(t.TempDir(), "kernels.md")
	stats := runStats{total: 402 * time.Second, fetch: 9 * time.Second, downloaded: 1, kernels: 6, jobs: 2}
	if err := writeDoc(path, results, stats); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	if !strings.HasPrefix(doc, "# Kernels\n") {
		t.Errorf("the doc does not start with its title:\n%s", doc)
	}
	// In order: the table's rows as the results came, the run's summary,
	// then docTail: the columns explained and both lists of runs.
	lines := []string{
		"| kernel (Debian suite) | boot | deny tiers that refused a call | deny rule on any syscall | tier chosen | suite | tests passed / failed / skipped | time |",
		"| 5.10.0-32-cloud-amd64 (bullseye, bullseye-security) | lsm=...,bpf | lsm, fmod_ret | kills at entry (the kernel lets no program change a syscall's return) | lsm | pass | 12 / 0 / 4 | 1m23s |",
		`| 5.10.0-32-cloud-amd64 (bullseye, bullseye-security) | lsm=without bpf | none | not run | signal | **FAIL**: tier "signal" chosen, want "fmod_ret"; failed: TestX | 3 / 1 / 0 | 41s |`,
		"Whole matrix: 6m42s on " + time.Now().UTC().Format("2006-01-02") + ", 2 guest(s) at a time",
		"apt lists and kernels took 9s (1 of 6 kernels downloaded, the rest from the cache).",
		"- **boot**: `lsm=" + lsmWithBPF + "` makes BPF LSM active",
		"- guard (`./guard`): `^(TestUnconfirmedKillIsReportedOnce|",
		"- guard-subtests (`./guard`): `^(TestKillsPtraceCallersBeforeTheCallReturns|",
		", skipping `^TestEveryMemoryRouteIsGuarded$/^(attach|pidfd-getfd)$`\n",
		"- e2e (`./test/e2e`): `^TestBinaryPicksTheBestTier$`\n",
		"- coverage (`./guard`): `^TestBypassSuite$`, on sid only (README.md's lsm coverage table)\n",
		"The boots without bpf in lsm= (each kernel also booted with it) run only the tier and deny tests:",
		"- guard (`./guard`): `^(TestTierIsTheBestTheKernelOffers|",
		"- guard-subtests (`./guard`): `^(TestDenyRefusesBeforeTheCallTakesEffect|",
		"- e2e (`./test/e2e`): `^TestBinaryPicksTheBestTier$`\n",
	}
	rest := doc
	for _, line := range lines {
		i := strings.Index(rest, line)
		if i < 0 {
			t.Fatalf("docs/kernels.md lacks, after what came before it, %q:\n%s", line, doc)
		}
		rest = rest[i+len(line):]
	}
	if !strings.HasSuffix(doc, docTail()) {
		t.Error("the doc does not end with docTail()")
	}
}

// The bypass suite runs on the coverage target only, after the runs every
// full guest makes; the boot without bpf never runs it.
func TestCoverageRunsOnItsTargetOnly(t *testing.T) {
	names := func(id string) []string {
		tg, ok := findTarget(id)
		if !ok {
			t.Fatalf("no target %q", id)
		}
		var out []string
		for _, r := range tg.testRuns() {
			out = append(out, r.name)
		}
		return out
	}
	if got, want := names(coverageTarget), []string{"guard", "guard-subtests", "bpf-unit", "e2e", "coverage"}; !slices.Equal(got, want) {
		t.Errorf("%s runs %q, want %q", coverageTarget, got, want)
	}
	for _, id := range []string{"bullseye", "trixie"} {
		if got, want := names(id), []string{"guard", "guard-subtests", "bpf-unit", "e2e"}; !slices.Equal(got, want) {
			t.Errorf("%s runs %q, want %q", id, got, want)
		}
	}
	if got := names("bullseye-nolsm"); slices.Contains(got, "coverage") {
		t.Errorf("bullseye-nolsm runs %q", got)
	}
	if tg, _ := findTarget(coverageTarget); tg.lsm != lsmWithBPF || tg.tier != "lsm" {
		t.Errorf("the coverage target %+v must boot with BPF LSM active and pick the lsm tier", tg)
	}
}

// The coverage table is read off the console as TestBypassSuite logs it
// (go test -v: indented, after the file and line; a blank line of the
// table keeps or loses its trailing space), and judged against README.md.
func TestCoverageTableIsReadAndJudged(t *testing.T) {
	table := []string{
		"Produced by `TestBypassSuite` in the lsm tier (a kill rule over `memory-access`).",
		"",
		"| route | hook | caught | effect prevented | notes |",
		"|---|---|---|---|---|",
		"| ptrace SEIZE | `lsm/ptrace_access_check` | yes | yes |  |",
		"| /proc/pid/environ read | `none` | **open** | n/a | open in deny tiers too |",
	}
	console := []string{
		"sigguard-guest: kernel 7.2.13+deb14-cloud-amd64",
		"sigguard-guest: exit guard 0",
		"sigguard-guest: exit guard-subtests 0",
		"sigguard-guest: exit e2e 0",
		"sigguard-guest: run coverage -test.v -test.count=1 -test.timeout=5m -test.run ^TestBypassSuite$",
		"=== RUN   TestBypassSuite",
		"    bypass_test.go:210: io_uring hooks attached: true",
		"    --- PASS: TestBypassSuite/ptrace_SEIZE (0.52s)",
		"=== NAME  TestBypassSuite",
		"    bypass_test.go:600: coverage-table: " + table[0],
		"    bypass_test.go:600: coverage-table: ",
		"    bypass_test.go:600: coverage-table: " + table[2],
		"    bypass_test.go:600: coverage-table: " + table[3],
		"    bypass_test.go:600: coverage-table: " + table[4],
		"    bypass_test.go:600: coverage-table: " + table[5],
		"--- PASS: TestBypassSuite (41.20s)",
		"sigguard-guest: exit coverage 0",
		"sigguard-guest: done",
	}
	sid, _ := findTarget(coverageTarget)
	parse := func(lines []string) *result {
		r := &result{target: sid}
		parseConsole(lines, r)
		return r
	}
	if r := parse(console); !slices.Equal(r.coverage, table) {
		t.Fatalf("coverage read as %q, want %q", r.coverage, table)
	}
	stripped := slices.Clone(console)
	stripped[10] = strings.TrimRight(stripped[10], " ")
	if r := parse(stripped); !slices.Equal(r.coverage, table) {
		t.Errorf("with the blank line's trailing space gone, coverage read as %q", r.coverage)
	}

	// The same table: no problem; another one: a problem that shows the
	// difference and says how to rewrite it, unless it is rewritten.
	r := parse(console)
	checkCoverage(r, table, false)
	if len(r.problems) != 0 {
		t.Errorf("README's own table judged %q", r.problems)
	}
	readme := slices.Clone(table)
	readme[4] = "| ptrace SEIZE | `tp/syscalls/sys_enter_ptrace` | yes | yes |  |"
	r = parse(console)
	checkCoverage(r, readme, false)
	want := "README.md's lsm coverage table is not what TestBypassSuite measured in this guest; review the change, " +
		"then rewrite it with `go run ./test/kernels -kernels sid -readme` (as root):\n" +
		"    - " + readme[4] + "\n" +
		"    + " + table[4]
	if !slices.Equal(r.problems, []string{want}) {
		t.Errorf("a changed row: problems %q, want %q", r.problems, want)
	}
	r = parse(console)
	checkCoverage(r, readme, true)
	if len(r.problems) != 0 {
		t.Errorf("a changed row to be rewritten judged %q", r.problems)
	}

	// A guest that logged no table fails, even when the README is to be
	// rewritten; other targets are not judged on it.
	for _, rewrite := range []bool{false, true} {
		r = parse(console[:8])
		checkCoverage(r, table, rewrite)
		if len(r.problems) != 1 || !strings.Contains(r.problems[0], "logged no coverage table") {
			t.Errorf("no table (rewrite %v): problems %q", rewrite, r.problems)
		}
	}
	bullseye, _ := findTarget("bullseye")
	r = &result{target: bullseye}
	checkCoverage(r, table, false)
	if len(r.problems) != 0 {
		t.Errorf("bullseye judged on the coverage table: %q", r.problems)
	}
}

func TestLineDiff(t *testing.T) {
	for _, c := range []struct {
		want, got []string
		diff      string
	}{
		{[]string{"a", "b"}, []string{"a", "b"}, ""},
		{nil, []string{"a"}, "    + a"},
		{[]string{"a", "b", "c"}, []string{"a", "c", "d"}, "    - b\n    + d"},
		{[]string{"a", "b", "c"}, []string{"a", "B", "c"}, "    - b\n    + B"},
	} {
		if got := lineDiff(c.want, c.got); got != c.diff {
			t.Errorf("lineDiff(%q, %q) = %q, want %q", c.want, c.got, got, c.diff)
		}
	}
}

// README.md's block is found between its markers, read, and replaced; a
// README without them, or with them twice or reversed, is refused.
func TestReadmeCoverageBlock(t *testing.T) {
	text := "# x\n\n" + coverageBegin + "\nold 1\nold 2\n" + coverageEnd + "\n\nafter\n"
	path := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := readmeCoverage(path); err != nil || !slices.Equal(got, []string{"old 1", "old 2"}) {
		t.Errorf("readmeCoverage = %q, %v", got, err)
	}
	spliced, err := spliceCoverage(text, []string{"new", "", "| row |"})
	if want := "# x\n\n" + coverageBegin + "\nnew\n\n| row |\n" + coverageEnd + "\n\nafter\n"; err != nil || spliced != want {
		t.Errorf("spliceCoverage = %q, %v; want %q", spliced, err, want)
	}
	empty, err := spliceCoverage(text, nil)
	if want := "# x\n\n" + coverageBegin + "\n" + coverageEnd + "\n\nafter\n"; err != nil || empty != want {
		t.Errorf("spliceCoverage of nothing = %q, %v; want %q", empty, err, want)
	}
	if err := os.WriteFile(path, []byte(empty), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := readmeCoverage(path); err != nil || got != nil {
		t.Errorf("an empty block read as %q, %v", got, err)
	}

	// writeCoverage puts the coverage target's table there, and leaves
	// the file alone when it measured none.
	sid, _ := findTarget(coverageTarget)
	bullseye, _ := findTarget("bullseye")
	said, err := writeCoverage(path, []*result{{target: bullseye, coverage: []string{"x"}}, {target: sid, coverage: []string{"new"}}})
	if b, _ := os.ReadFile(path); err != nil || !strings.HasPrefix(said, "rewritten") ||
		string(b) != "# x\n\n"+coverageBegin+"\nnew\n"+coverageEnd+"\n\nafter\n" {
		t.Errorf("writeCoverage: %q, %v; README now %q", said, err, b)
	}
	if said, err := writeCoverage(path, []*result{{target: sid, coverage: []string{"new"}}}); err != nil || said != "as measured, unchanged" {
		t.Errorf("writeCoverage of the same table: %q, %v", said, err)
	}
	if said, err := writeCoverage(path, []*result{{target: sid}}); err != nil || !strings.HasPrefix(said, "left as it was") {
		t.Errorf("writeCoverage of no table: %q, %v", said, err)
	}

	for name, bad := range map[string]string{
		"no markers":  "# x\n",
		"no end":      coverageBegin + "\nx\n",
		"reversed":    coverageEnd + "\nx\n" + coverageBegin + "\n",
		"two begins":  coverageBegin + "\n" + coverageBegin + "\n" + coverageEnd + "\n",
		"two ends":    coverageBegin + "\n" + coverageEnd + "\n" + coverageEnd + "\n",
		"not a line":  "x " + coverageBegin + "\n" + coverageEnd + "\n",
		"signal only": "<!-- coverage:begin -->\n<!-- coverage:end -->\n",
	} {
		if _, err := spliceCoverage(bad, []string{"x"}); err == nil {
			t.Errorf("%s: spliced %q", name, bad)
		}
	}
}

// The repository's README.md has the block the matrix compares.
func TestReadmeHasTheCoverageBlock(t *testing.T) {
	if _, err := readmeCoverage("../../README.md"); err != nil {
		t.Error(err)
	}
}
