package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// minQEMU is the oldest QEMU the matrix trusts: bookworm's 7.2 corrupts
// 6.12 guests under TCG in about half the boots; 10 (bookworm-backports)
// was measured not to.
const minQEMU = 10

// busybox is a static shell and sleep for the guest, which has no libc:
// tests run "sleep" victims and "/bin/sh -c" parents.
const busybox = "/bin/busybox"

// ensureHostTools installs QEMU from the machine's backports suite and
// busybox-static when they are missing or too old. apt reads the suites
// from a private sources list (the machine's /etc/apt is left as it is)
// but installs into the machine as usual.
func ensureHostTools(cacheDir string, m mirrors) error {
	var pkgs []string
	if v, err := qemuMajor(); err != nil || v < minQEMU {
		pkgs = append(pkgs, "qemu-system-x86")
	}
	if !installed("busybox-static") {
		pkgs = append(pkgs, "busybox-static")
	}
	if len(pkgs) == 0 {
		return nil
	}
	codename, err := osCodename()
	if err != nil {
		return err
	}
	dir := filepath.Join(cacheDir, "apt", "host-"+codename)
	suites := []string{codename, codename + "-updates", codename + "-security", codename + "-backports"}
	root, err := newAptRoot(dir, m, suites, hostAptConf(dir))
	if err != nil {
		return fmt.Errorf("set up apt for the host tools: %w", err)
	}
	fmt.Printf("kernels: installing %s from %s-backports\n", strings.Join(pkgs, ", "), codename)
	if err := root.update(); err != nil {
		return err
	}
	args := append([]string{"-qq", "-y", "--no-install-recommends", "-t", codename + "-backports", "install"}, pkgs...)
	if _, err := root.apt(dir, "apt-get", args...); err != nil {
		return fmt.Errorf("install %s: %w (run as root)", strings.Join(pkgs, ", "), err)
	}
	if v, err := qemuMajor(); err != nil || v < minQEMU {
		return fmt.Errorf("QEMU %d or newer is needed, %s-backports gave %d (%v)", minQEMU, codename, v, err)
	}
	return nil
}

// hostAptConf keeps the machine's dpkg state, preferences and settings
// and swaps only the sources and the lists read from them.
func hostAptConf(dir string) string {
	return fmt.Sprintf(`Dir::Etc::SourceList "%[1]s/etc/sources.list";
Dir::Etc::SourceParts "%[1]s/etc/parts";
Dir::State::Lists "%[1]s/state/lists";
Dir::Cache "%[1]s/cache";
Acquire::Languages "none";
Acquire::Check-Valid-Until "false";
`, dir)
}

var qemuVersion = regexp.MustCompile(`version (\d+)\.`)

func qemuMajor() (int, error) {
	out, err := exec.Command("qemu-system-x86_64", "--version").Output()
	if err != nil {
		return 0, fmt.Errorf("qemu-system-x86_64 --version: %w", err)
	}
	m := qemuVersion.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("qemu-system-x86_64 --version: no version in %q", out)
	}
	return strconv.Atoi(string(m[1]))
}

// installed says whether dpkg has a package installed.
func installed(pkg string) bool {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", pkg).Output()
	return err == nil && strings.HasSuffix(string(out), " installed")
}

func osCodename() (string, error) {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "", fmt.Errorf("read /etc/os-release: %w (the matrix installs its tools on Debian only)", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VERSION_CODENAME="); ok && v != "" {
			return strings.Trim(v, `"`), nil
		}
	}
	return "", fmt.Errorf("no VERSION_CODENAME in /etc/os-release (install qemu-system-x86 %d+ and busybox-static by hand)", minQEMU)
}
