package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version, when set at link time (-ldflags "-X
// github.com/sigguard/sigguard/internal/cli.Version=v1.2.3"), is the
// version --version prints. Left empty, the version comes from what the go
// tool recorded in the binary.
var Version string

func versionLine() string {
	info, _ := debug.ReadBuildInfo()
	return fmt.Sprintf("sigguard %s (%s, cilium/ebpf %s)", buildVersion(Version, info), runtime.Version(), depVersion(info, "github.com/cilium/ebpf"))
}

// buildVersion names the build: the link-time override if any, else the
// main module's version (a release tag, or the pseudo-version the go tool
// derives from the commit when it builds a git checkout), followed by the
// commit, its time and whether the tree had uncommitted changes. The go
// tool records the commit only where it finds the checkout's .git
// directory and -buildvcs is not false.
func buildVersion(override string, info *debug.BuildInfo) string {
	if override != "" {
		return override
	}
	if info == nil {
		return "unknown (built without module information)"
	}
	version := info.Main.Version
	if version == "" || version == "(devel)" {
		version = "devel"
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	rev := settings["vcs.revision"]
	if rev == "" {
		if version == "devel" {
			return "devel, commit unknown"
		}
		return version
	}
	commit := "commit " + rev
	if t := settings["vcs.time"]; t != "" {
		commit += " of " + t
	}
	if settings["vcs.modified"] == "true" {
		commit += " with uncommitted changes"
	}
	return version + ", " + commit
}

func depVersion(info *debug.BuildInfo, path string) string {
	if info != nil {
		for _, dep := range info.Deps {
			if dep.Path == path {
				return dep.Version
			}
		}
	}
	return "unknown"
}
