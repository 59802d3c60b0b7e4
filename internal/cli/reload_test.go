package cli

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/policywatch"
)

type fakeGuard struct {
	reloaded []guard.Config
	refuse   error
}

func (f *fakeGuard) Reload(cfg guard.Config) error {
	if f.refuse != nil {
		return f.refuse
	}
	f.reloaded = append(f.reloaded, cfg)
	return nil
}

// What the watcher reports becomes a reload, or a message and the policy
// in force staying.
func TestReloadChanged(t *testing.T) {
	good := policywatch.Change{Data: []byte("rules:\n  - name: watch\n    action: { audit: true }\n")}
	for _, tc := range []struct {
		name   string
		change policywatch.Change
		refuse error
		want   string
		loaded bool
	}{
		{"good", good, nil, "sigguard: reloaded p.yaml (its content changed)\n", true},
		{"bad policy", policywatch.Change{Data: []byte("rules:\n  - name: broken\n    syscalls: [nope]\n")}, nil,
			"sigguard: reload rejected, the previous policy stays in force: p.yaml:3:16: unknown syscall or preset \"nope\"", false},
		{"refused by the guard", good, errors.New("no room"), "sigguard: reload rejected, the previous policy stays in force: no room\n", false},
		{"file gone", policywatch.Change{Err: os.ErrNotExist}, nil,
			"sigguard: warning: the policy file cannot be read (file does not exist); the policy in force stays until it can\n", false},
	} {
		g := &fakeGuard{refuse: tc.refuse}
		var stderr bytes.Buffer
		cfg, ok := reloadChanged(g, "p.yaml", tc.change, &stderr)
		if !strings.HasPrefix(stderr.String(), tc.want) || ok != tc.loaded {
			t.Errorf("%s: reloaded %v, said %q; want %v, %q", tc.name, ok, stderr.String(), tc.loaded, tc.want)
		}
		if tc.loaded && (len(g.reloaded) != 1 || cfg.Rules[0].Name != "watch") {
			t.Errorf("%s: the guard got %+v", tc.name, g.reloaded)
		}
		if !tc.loaded && len(g.reloaded) != 0 {
			t.Errorf("%s: the guard was given %+v", tc.name, g.reloaded)
		}
	}
}

// check passes a policy naming a cgroup that does not exist, with a
// warning; a path that can never be a cgroup still fails.
func TestCheckWarnsOfMissingCgroup(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		cgroup string
		status int
		want   string
	}{
		{"/sigguard-check-no-such-cgroup", exitOK, "sigguard: warning: cgroup "},
		{"../outside", exitUsage, "is outside the cgroup v2 hierarchy"},
	} {
		path := dir + "/p.yaml"
		policy := "rules:\n  - name: r\n    match: { cgroup: [" + tc.cgroup + "] }\n    action: { audit: true }\n"
		if err := os.WriteFile(path, []byte(policy), 0o644); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		status := check([]string{path}, &stdout, &stderr)
		if status != tc.status || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("check of %s: status %d, stderr %q; want %d, %q", tc.cgroup, status, stderr.String(), tc.status, tc.want)
		}
	}
}
