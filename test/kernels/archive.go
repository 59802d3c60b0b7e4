package main

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// metapackage names the newest cloud kernel of a suite. The cloud flavour
// boots fastest and has all sigguard needs (BTF, BPF LSM, trampolines).
const metapackage = "linux-image-cloud-amd64"

// aptRoot is a private apt configuration: its own sources, lists, cache
// and an empty dpkg status, so resolving a suite's kernel neither reads
// nor changes the machine's apt state.
type aptRoot struct {
	dir  string
	conf string
}

// newAptRoot writes the sources list for the suites under dir, and conf
// as its apt configuration: privateAptConf(dir) for a root of its own,
// hostAptConf(dir) to install into the machine.
func newAptRoot(dir string, m mirrors, suites []string, conf string) (*aptRoot, error) {
	for _, sub := range []string{"etc/parts", "state/lists/partial", "cache/archives/partial"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	var sources strings.Builder
	for _, s := range suites {
		fmt.Fprintf(&sources, "deb %s %s main\n", m.forSuite(s), s)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc/sources.list"), []byte(sources.String()), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "state/status"), nil, 0o644); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "etc/apt.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return &aptRoot{dir: dir, conf: path}, nil
}

// privateAptConf points every directory apt uses into dir. It is read
// through APT_CONFIG, before the machine's apt.conf.d, which it replaces
// with an empty directory. Release files are not checked for expiry: the
// archive may be a snapshot, whose signatures are still checked. The dpkg
// status is the empty one newAptRoot writes.
func privateAptConf(dir string) string {
	return fmt.Sprintf(`Dir::Etc::SourceList "%[1]s/etc/sources.list";
Dir::Etc::SourceParts "%[1]s/etc/parts";
Dir::Etc::Parts "%[1]s/etc/parts";
Dir::Etc::Preferences "%[1]s/etc/preferences";
Dir::Etc::PreferencesParts "%[1]s/etc/parts";
Dir::State "%[1]s/state";
Dir::State::status "%[2]s";
Dir::Cache "%[1]s/cache";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
Acquire::Languages "none";
Acquire::Check-Valid-Until "false";
`, dir, filepath.Join(dir, "state/status"))
}

// apt runs an apt tool with this configuration and returns its output.
func (a *aptRoot) apt(workDir string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "APT_CONFIG="+a.conf, "DEBIAN_FRONTEND=noninteractive")
	cmd.Dir = workDir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// update fetches the suites' package lists (a few seconds; unchanged
// lists are not downloaded again).
func (a *aptRoot) update() error {
	if _, err := a.apt(a.dir, "apt-get", "-qq", "update"); err != nil {
		return fmt.Errorf("update package lists: %w (is the Debian archive reachable?)", err)
	}
	return nil
}

// show returns the candidate version's control fields of a package.
func (a *aptRoot) show(pkg string) (map[string]string, error) {
	out, err := a.apt(a.dir, "apt-cache", "show", "--no-all-versions", pkg)
	if err != nil {
		return nil, err
	}
	return parseControl(out), nil
}

// parseControl reads the first stanza of deb822 text into its fields
// (continuation lines are dropped: no field used here has them).
func parseControl(text string) map[string]string {
	fields := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") {
			fields[k] = strings.TrimSpace(v)
		}
	}
	return fields
}

// imagePackage is a kernel package to download.
type imagePackage struct {
	release string // the kernel release, as uname -r says it
	name    string // the package holding vmlinuz
	version string
}

// resolveKernel finds the suite's current cloud kernel through the
// metapackage, so ABI bumps need no change here. From 7.x the vmlinuz
// moved out of linux-image-REL into linux-binary-REL.
func (a *aptRoot) resolveKernel() (imagePackage, error) {
	meta, err := a.show(metapackage)
	if err != nil {
		return imagePackage{}, fmt.Errorf("resolve %s: %w", metapackage, err)
	}
	release := imageRelease(meta["Depends"])
	if release == "" {
		return imagePackage{}, fmt.Errorf("resolve %s: no linux-image-* among its dependencies %q", metapackage, meta["Depends"])
	}
	for _, name := range []string{"linux-binary-" + release, "linux-image-" + release} {
		fields, err := a.show(name)
		if err == nil && fields["Version"] != "" {
			return imagePackage{release: release, name: name, version: fields["Version"]}, nil
		}
	}
	return imagePackage{}, fmt.Errorf("resolve %s: neither linux-binary-%s nor linux-image-%s is in the archive", metapackage, release, release)
}

// imageRelease picks REL out of a Depends field naming linux-image-REL.
func imageRelease(depends string) string {
	for _, dep := range strings.Split(depends, ",") {
		name, _, _ := strings.Cut(strings.TrimSpace(dep), " ")
		if rel, ok := strings.CutPrefix(name, "linux-image-"); ok {
			return rel
		}
	}
	return ""
}

// fetchVmlinuz downloads the package into dir (unless its vmlinuz is
// there) and extracts its vmlinuz next to it; it returns the vmlinuz's
// path and whether it was downloaded.
func (a *aptRoot) fetchVmlinuz(pkg imagePackage, dir string) (string, bool, error) {
	vmlinuz := filepath.Join(dir, "vmlinuz-"+pkg.release+"_"+pkg.version)
	if _, err := os.Stat(vmlinuz); err == nil {
		return vmlinuz, false, nil
	}
	path, err := a.download(pkg, dir, vmlinuz)
	return path, err == nil, err
}

func (a *aptRoot) download(pkg imagePackage, dir, vmlinuz string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if _, err := a.apt(dir, "apt-get", "-qq", "download", pkg.name+"="+pkg.version); err != nil {
		return "", fmt.Errorf("download kernel %s: %w (is the Debian archive reachable?)", pkg.name, err)
	}
	debs, _ := filepath.Glob(filepath.Join(dir, pkg.name+"_*.deb"))
	if len(debs) == 0 {
		return "", fmt.Errorf("download kernel %s: apt-get download left no .deb in %s", pkg.name, dir)
	}
	if err := extractVmlinuz(debs[len(debs)-1], vmlinuz); err != nil {
		return "", fmt.Errorf("extract vmlinuz from %s: %w", debs[len(debs)-1], err)
	}
	for _, deb := range debs {
		os.Remove(deb) // the vmlinuz is all that is kept
	}
	return vmlinuz, nil
}

// extractVmlinuz copies the kernel image out of a .deb: boot/vmlinuz-*
// up to 6.x, usr/lib/modules/*/vmlinuz from 7.x.
func extractVmlinuz(deb, dst string) error {
	cmd := exec.Command("dpkg-deb", "--fsys-tarfile", deb)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run dpkg-deb: %w", err)
	}
	defer cmd.Wait()
	tr := tar.NewReader(stdout)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return errors.New("no vmlinuz in the package")
		}
		if err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg && isVmlinuz(hdr.Name) {
			err := writeFileFrom(dst, tr)
			io.Copy(io.Discard, stdout)
			return err
		}
	}
}

func isVmlinuz(name string) bool {
	name = strings.TrimPrefix(name, "./")
	return strings.HasPrefix(name, "boot/vmlinuz-") ||
		(strings.HasPrefix(name, "usr/lib/modules/") && strings.HasSuffix(name, "/vmlinuz"))
}

// writeFileFrom writes r to path through a temporary file, so an
// interrupted run never leaves a truncated file under the final name.
func writeFileFrom(path string, r io.Reader) error {
	tmp := path + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
