package container

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// workloadTools are the host programs the workload image holds, each with
// the shared libraries ldd finds for it. gdb embeds Python and will not
// start without its standard library; it comes along below.
var workloadTools = []string{"strace", "gdb", "sh", "sleep", "cat", "timeout"}

// Parts of Python's standard library gdb never imports.
var pythonUnused = map[string]bool{
	"test": true, "idlelib": true, "tkinter": true, "ensurepip": true, "lib2to3": true,
	"site-packages": true, "dist-packages": true,
}

func buildImages() error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	tag := "test-" + strings.TrimPrefix(runLabel, "sigguard-test=")
	dir, err := os.MkdirTemp("", "sigguard-images-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// sigguard's image: the static binary and deploy/Dockerfile, as
	// deploy/Dockerfile says to build it.
	sg := filepath.Join(dir, "sigguard")
	if err := goBuild(root, filepath.Join(sg, "sigguard"), "./cmd/sigguard"); err != nil {
		return err
	}
	if err := linkOrCopy(filepath.Join(root, "deploy", "Dockerfile"), filepath.Join(sg, "Dockerfile")); err != nil {
		return err
	}
	if err := build(sg, "sigguard:"+tag); err != nil {
		return err
	}
	sigguardImage = "sigguard:" + tag

	wl := filepath.Join(dir, "workload")
	if err := workloadContext(root, wl); err != nil {
		return err
	}
	if err := build(wl, "sigguard-workload:"+tag); err != nil {
		return err
	}
	workloadImage = "sigguard-workload:" + tag
	return nil
}

func build(context, tag string) error {
	_, err := docker("build", "--force-rm", "--quiet", "--label", runLabel, "--tag", tag, context)
	return err
}

// workloadContext lays out a FROM scratch image of host programs: each at
// its host path, its libraries at theirs, and the offender, static.
func workloadContext(root, dir string) error {
	if err := goBuild(root, filepath.Join(dir, "usr/local/bin/offender"), "./internal/testenv/offender"); err != nil {
		return err
	}
	for _, tool := range workloadTools {
		path, err := exec.LookPath(tool)
		if err != nil {
			return fmt.Errorf("%s is not installed (scripts/deps.sh installs it)", tool)
		}
		if err := addProgram(dir, path); err != nil {
			return err
		}
	}
	// gdb's own Python scripts and syscall tables.
	if err := addTree(dir, "/usr/share/gdb", nil); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY . /\n"), 0o644)
}

var libpython = regexp.MustCompile(`libpython(\d+\.\d+)`)

// addProgram copies path and the libraries ldd lists for it, and the
// standard library of a Python it links.
func addProgram(dir, path string) error {
	if err := linkOrCopy(path, filepath.Join(dir, path)); err != nil {
		return err
	}
	out, err := exec.Command("ldd", path).Output()
	if err != nil {
		return nil // a static program: ldd says "not a dynamic executable"
	}
	for _, field := range strings.Fields(string(out)) {
		if !strings.HasPrefix(field, "/") {
			continue
		}
		if err := linkOrCopy(field, filepath.Join(dir, field)); err != nil {
			return err
		}
		if m := libpython.FindStringSubmatch(field); m != nil {
			if err := addTree(dir, "/usr/lib/python"+m[1], pythonUnused); err != nil {
				return err
			}
		}
	}
	return nil
}

// addTree copies the files under src, following symbolic links to files,
// and leaves out the directories named in skip.
func addTree(dir, src string, skip map[string]bool) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skip[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		st, err := os.Stat(path)
		if err != nil || !st.Mode().IsRegular() {
			return nil // a dangling link, or a link to a directory
		}
		return linkOrCopy(path, filepath.Join(dir, path))
	})
}

// linkOrCopy puts the file src (symbolic links followed) at dst, as a
// hard link when both are on one file system.
func linkOrCopy(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(src)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dst); err == nil {
		return nil // two tools sharing a library
	}
	if os.Link(real, dst) == nil {
		return nil
	}
	in, err := os.Open(real)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// goBuild builds a static binary: the images have no C library for it.
func goBuild(root, out, pkg string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v: %s", pkg, err, msg)
	}
	return nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the test's directory")
		}
		dir = parent
	}
}
