package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/sigguard/sigguard/test/kernels/plan"
)

// In the guest: test binaries, the helpers they run (found through
// SIGGUARD_TEST_BINARIES by testenv.Build), and the module's root, where
// tests look for go.mod and the files beside it.
const (
	guestTests = "/sigguard/tests"
	guestBin   = "/sigguard/bin"
	guestSrc   = "/sigguard/src"
	guestTmp   = "/sigguard/tmp"
)

// helpers are the main packages tests build with testenv.Build.
var helpers = []string{"./internal/testenv/offender", "./cmd/sigguard"}

// buildGuest compiles everything the guests run, statically (there is no
// libc in the guest), and packs it with busybox into one initramfs that
// every run shares. It returns the archive's path.
func buildGuest(moduleRoot, workDir string) (string, error) {
	bin := filepath.Join(workDir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", err
	}
	if err := goBuild(moduleRoot, "build", filepath.Join(bin, "init"), "./test/kernels/guestinit"); err != nil {
		return "", err
	}
	for _, pkg := range helpers {
		if err := goBuild(moduleRoot, "build", filepath.Join(bin, filepath.Base(pkg)), pkg); err != nil {
			return "", err
		}
	}
	for _, s := range testBinaries() {
		if err := goBuild(moduleRoot, "test", filepath.Join(bin, s.bin()+".test"), s.pkg); err != nil {
			return "", err
		}
	}
	archive := filepath.Join(workDir, "common.cpio")
	f, err := os.Create(archive)
	if err != nil {
		return "", err
	}
	if err := packGuest(newCPIO(f), moduleRoot, bin); err != nil {
		f.Close()
		return "", fmt.Errorf("pack the initramfs: %w", err)
	}
	return archive, f.Close()
}

// goBuild runs go build -o (or go test -c -o) with cgo off, which makes
// static binaries.
func goBuild(moduleRoot, verb, out, pkg string) error {
	args := []string{"build", "-o", out, pkg}
	if verb == "test" {
		args = []string{"test", "-c", "-o", out, pkg}
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s %s: %w\n%s", strings.Join(args[:len(args)-1], " "), pkg, err, msg)
	}
	return nil
}

// packGuest writes the shared part of the initramfs: /init, busybox as
// /bin/sh, sleep and true, the helpers and test binaries, and go.mod
// with the unit file tests read relative to it.
func packGuest(c *cpioWriter, moduleRoot, bin string) error {
	for _, d := range []string{"/bin", "/sigguard", guestBin, guestTests, guestSrc, guestTmp} {
		if err := c.Dir(d); err != nil {
			return err
		}
	}
	if err := c.HostFile("/init", filepath.Join(bin, "init"), 0o755); err != nil {
		return err
	}
	if err := c.HostFile("/bin/busybox", busybox, 0o755); err != nil {
		return fmt.Errorf("%w (busybox-static provides it)", err)
	}
	for _, applet := range []string{"sh", "sleep", "true", "cat", "ls"} {
		if err := c.Symlink("/bin/"+applet, "busybox"); err != nil {
			return err
		}
	}
	for _, pkg := range helpers {
		name := filepath.Base(pkg)
		if err := c.HostFile(guestBin+"/"+name, filepath.Join(bin, name), 0o755); err != nil {
			return err
		}
	}
	for _, s := range testBinaries() {
		if err := c.HostFile(guestTests+"/"+s.bin()+".test", filepath.Join(bin, s.bin()+".test"), 0o755); err != nil {
			return err
		}
	}
	if err := c.HostFile(guestSrc+"/go.mod", filepath.Join(moduleRoot, "go.mod"), 0o644); err != nil {
		return err
	}
	for _, s := range testBinaries() {
		if err := addDirs(c, guestSrc, s.pkg); err != nil {
			return err
		}
	}
	return c.Close()
}

// addDirs adds the directories of a package path below root (tests run
// in their package's directory, as go test runs them).
func addDirs(c *cpioWriter, root, pkg string) error {
	dir := root
	for _, part := range strings.Split(strings.TrimPrefix(pkg, "./"), "/") {
		dir += "/" + part
		if err := c.Dir(dir); err != nil {
			return err
		}
	}
	return nil
}

// guestImage is the shared initramfs followed by a second archive with
// this run's plan: the kernel unpacks concatenated archives in order.
func guestImage(common, dst string, t target) error {
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	in, err := os.Open(common)
	if err != nil {
		return err
	}
	defer in.Close()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	b, err := json.MarshalIndent(guestPlan(t), "", "  ")
	if err != nil {
		return err
	}
	c := newCPIO(out)
	if err := c.File(plan.Path, 0o644, b); err != nil {
		return err
	}
	if err := c.Close(); err != nil {
		return err
	}
	return out.Close()
}

// guestPlan runs every suite with the tier the target must give. CI is
// not set in the guest: the tests that need strace, gdb or setpriv (not
// in the guest) are outside the subsets, and RequireRoot holds as root.
func guestPlan(t target) plan.Plan {
	p := plan.Plan{Env: []string{
		"PATH=/bin:" + guestBin,
		"HOME=/root",
		// On the root file system with the helpers, not on /tmp's tmpfs:
		// tests hard-link the offender into their temporary directories.
		"TMPDIR=" + guestTmp,
		"SIGGUARD_TEST_BINARIES=" + guestBin,
		"SIGGUARD_EXPECT_TIER=" + t.tier,
	}}
	for _, s := range t.testRuns() {
		args := []string{"-test.v", "-test.count=1", "-test.timeout=5m"}
		if s.run != "" {
			args = append(args, "-test.run", s.run)
		}
		if s.skip != "" {
			args = append(args, "-test.skip", s.skip)
		}
		p.Runs = append(p.Runs, plan.Run{
			Name: s.name,
			Path: guestTests + "/" + s.bin() + ".test",
			Dir:  guestSrc + "/" + strings.TrimPrefix(s.pkg, "./"),
			Args: args,
		})
	}
	return p
}
