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
	if !r.ok() || r.tier != "fmod_ret" || len(r.passed) != 2 || len(r.skipped) != 1 {
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
	if err != nil || !slices.Equal(ids(o.targets), ids(targets)) || o.jobs != 2 || o.doc != "" {
		t.Errorf("no flags: %+v, %v; want every kernel, 2 jobs, no doc", o, err)
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
		"| kernel (Debian suite) | boot | deny tiers that refused a call | tier chosen | suite | tests passed / failed / skipped | time |",
		"| 5.10.0-32-cloud-amd64 (bullseye, bullseye-security) | lsm=...,bpf | lsm, fmod_ret | lsm | pass | 12 / 0 / 4 | 1m23s |",
		`| 5.10.0-32-cloud-amd64 (bullseye, bullseye-security) | lsm=without bpf | none | signal | **FAIL**: tier "signal" chosen, want "fmod_ret"; failed: TestX | 3 / 1 / 0 | 41s |`,
		"Whole matrix: 6m42s on " + time.Now().UTC().Format("2006-01-02") + ", 2 guest(s) at a time",
		"apt lists and kernels took 9s (1 of 6 kernels downloaded, the rest from the cache).",
		"- **boot**: `lsm=" + lsmWithBPF + "` makes BPF LSM active",
		"- guard (`./guard`): `^(TestUnconfirmedKillIsReportedOnce|",
		"- guard-subtests (`./guard`): `^(TestKillsPtraceCallersBeforeTheCallReturns|",
		", skipping `^TestEveryMemoryRouteIsGuarded$/^(attach|pidfd-getfd)$`\n",
		"- e2e (`./test/e2e`): `^TestBinaryPicksTheBestTier$`\n",
		"The boot without bpf in lsm= (the same kernel) runs only the tier and deny tests:",
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
