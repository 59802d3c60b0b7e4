package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// A kernel the matrix builds itself, where no Debian kernel has what a
// test must measure: Debian builds every kernel without
// CONFIG_FUNCTION_ERROR_INJECTION, so none lets a BPF program change a
// syscall's return (the generic route's veto). The build is the suite's
// own kernel: Debian's source package of the same version, configured as
// Debian's cloud kernel, with the options added. It takes tens of
// minutes on 2 CPUs the first time and is cached under the kernel's
// release and the options' name.
type kernelBuild struct {
	name    string   // suffixes the cached image's name and the kernel's release
	enable  []string // options turned on over Debian's cloud config
	disable []string // options turned off: module signing, which needs Debian's keys
}

var builds = map[string]kernelBuild{
	"errinj": {
		name:    "errinj",
		enable:  []string{"FUNCTION_ERROR_INJECTION"},
		disable: []string{"MODULE_SIG", "SYSTEM_TRUSTED_KEYRING", "DEBUG_INFO_BTF_MODULES"},
	},
}

// buildKernel builds pkg's kernel from Debian's source with b's options
// into dir, unless it is there, and returns its image's path and whether
// it was built now.
func (a *aptRoot) buildKernel(pkg imagePackage, b kernelBuild, dir string) (string, bool, error) {
	image := filepath.Join(dir, "vmlinuz-"+pkg.release+"-"+b.name+"_"+pkg.version)
	if _, err := os.Stat(image); err == nil {
		return image, false, nil
	}
	series := kernelSeries(pkg.release) // 6.1 of 6.1.0-57-cloud-amd64
	work := filepath.Join(dir, "build-"+pkg.release+"-"+b.name)
	os.RemoveAll(work)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return "", false, err
	}
	defer os.RemoveAll(work)
	for _, p := range []string{"linux-source-" + series, "linux-config-" + series} {
		if _, err := a.apt(work, "apt-get", "-qq", "download", p+"="+pkg.version); err != nil {
			return "", false, fmt.Errorf("download %s %s: %w", p, pkg.version, err)
		}
	}
	debs, _ := filepath.Glob(filepath.Join(work, "*.deb"))
	for _, deb := range debs {
		if out, err := exec.Command("dpkg-deb", "-x", deb, work).CombinedOutput(); err != nil {
			return "", false, fmt.Errorf("unpack %s: %w: %s", deb, err, out)
		}
	}
	src := filepath.Join(work, "usr/src")
	tarball := filepath.Join(src, "linux-source-"+series+".tar.xz")
	if out, err := exec.Command("tar", "-C", work, "-xf", tarball).CombinedOutput(); err != nil {
		return "", false, fmt.Errorf("unpack %s: %w: %s", tarball, err, out)
	}
	tree := filepath.Join(work, "linux-source-"+series)
	config := filepath.Join(src, "linux-config-"+series, "config.amd64_none_cloud-amd64.xz")
	if err := b.configure(tree, config, "-"+b.name); err != nil {
		return "", false, err
	}
	fmt.Printf("kernels: building %s-%s from Debian's source (%s), once: tens of minutes\n", pkg.release, b.name, pkg.version)
	if err := runIn(tree, "make", "-j"+strconv.Itoa(runtime.NumCPU()), "bzImage"); err != nil {
		return "", false, fmt.Errorf("build the kernel: %w", err)
	}
	f, err := os.Open(filepath.Join(tree, "arch/x86/boot/bzImage"))
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	return image, true, writeFileFrom(image, f)
}

// configure writes Debian's cloud config into tree with b's options.
func (b kernelBuild) configure(tree, xzConfig, localVersion string) error {
	out, err := exec.Command("xz", "-dc", xzConfig).Output()
	if err != nil {
		return fmt.Errorf("read %s: %w", xzConfig, err)
	}
	if err := os.WriteFile(filepath.Join(tree, ".config"), out, 0o644); err != nil {
		return err
	}
	args := []string{"--set-str", "LOCALVERSION", localVersion, "--set-str", "SYSTEM_TRUSTED_KEYS", "",
		"--set-str", "SYSTEM_REVOCATION_KEYS", ""}
	for _, o := range b.enable {
		args = append(args, "--enable", o)
	}
	for _, o := range b.disable {
		args = append(args, "--disable", o)
	}
	if err := runIn(tree, "./scripts/config", args...); err != nil {
		return err
	}
	if err := runIn(tree, "make", "olddefconfig"); err != nil {
		return err
	}
	have, err := os.ReadFile(filepath.Join(tree, ".config"))
	if err != nil {
		return err
	}
	for _, o := range b.enable {
		if !strings.Contains(string(have), "\nCONFIG_"+o+"=y\n") {
			return fmt.Errorf("CONFIG_%s did not stay on (a dependency is off)", o)
		}
	}
	return nil
}

// kernelSeries is the MAJOR.MINOR of a release (6.1 of 6.1.0-57-cloud-amd64).
func kernelSeries(release string) string {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return release
	}
	return parts[0] + "." + parts[1]
}

// runIn runs a command in dir, its output kept only for an error.
func runIn(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		tail := string(out)
		if len(tail) > 4000 {
			tail = tail[len(tail)-4000:]
		}
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail)
	}
	return nil
}

