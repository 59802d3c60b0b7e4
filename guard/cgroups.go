package guard

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/sigguard/sigguard/internal/bpf"
	"github.com/sigguard/sigguard/internal/kernfs"
)

// A cgroup is matched by its id, which is its directory's inode number:
// a directory removed and made again at the same path (docker restart
// does so) is a new cgroup with a new id. So a policy keeps the paths it
// names, and the kernel's table holds the id each path has now; a path
// with no directory holds nothing there, and the rules naming it match
// nothing for it until it exists.

// trackedValue is one cgroup path listed by one rule under one key.
type trackedValue struct {
	key    bpf.GuardMatchKey
	path   string // as the hierarchy's mount spells it
	bit    uint64 // the rule's
	rule   string
	except bool
}

// maxCgroupDepth is how many levels of a cgroup path the kernel side walks
// (SG_MAX_CGROUP_DEPTH): a cgroup deeper than that could never match.
const maxCgroupDepth = int(bpf.GuardLimitSG_MAX_CGROUP_DEPTH)

// resolveCgroup resolves path; a path that may become a cgroup but is not
// one now is an error that is kernfs.ErrCgroupMissing, with cg.Path set.
func resolveCgroup(path string) (kernfs.Cgroup, error) {
	mount, err := kernfs.Cgroup2Mount()
	if err != nil {
		return kernfs.Cgroup{}, err
	}
	return resolveCgroupIn(mount, path)
}

func resolveCgroupIn(mount, path string) (kernfs.Cgroup, error) {
	cg, err := kernfs.ResolveCgroupIn(mount, path)
	if (err == nil || errors.Is(err, kernfs.ErrCgroupMissing)) && cg.Level >= maxCgroupDepth {
		return cg, fmt.Errorf("%s is %d levels deep; sigguard matches cgroups up to %d levels (name an ancestor)", path, cg.Level, maxCgroupDepth-1)
	}
	return cg, err
}

// track resolves a cgroup a rule lists: a missing one is kept, matching
// nothing until it exists; one that can never exist is an error.
func (c *compiled) track(v keyValue, bit uint64, rule string, except bool) error {
	cg, err := resolveCgroup(v.path)
	if err != nil && !errors.Is(err, kernfs.ErrCgroupMissing) {
		return err
	}
	c.tracked = append(c.tracked, trackedValue{key: v.key, path: cg.Path, bit: bit, rule: rule, except: except})
	c.cgroupID[cg.Path] = cg.ID
	return nil
}

// table is what the kernel's matcher table holds for c when its cgroup
// paths have the ids in ids (0: no directory).
func (c *compiled) table(ids map[string]uint64) map[bpf.GuardMatcherKey]bpf.GuardMatcherMasks {
	t := make(map[bpf.GuardMatcherKey]bpf.GuardMatcherMasks, len(c.fixed)+len(c.tracked))
	for k, v := range c.fixed {
		t[k] = v
	}
	for _, v := range c.tracked {
		id := ids[v.path]
		if id == 0 {
			continue
		}
		k := bpf.GuardMatcherKey{Generation: c.gen, Key: uint32(v.key), A: id}
		t[k] = addMask(t[k], v.bit, v.except)
	}
	return t
}

// valuesAtMost counts the table's entries when every cgroup exists.
func (c *compiled) valuesAtMost() int {
	type cgroupKey struct {
		key  bpf.GuardMatchKey
		path string
	}
	cgroups := map[cgroupKey]bool{}
	for _, v := range c.tracked {
		cgroups[cgroupKey{v.key, v.path}] = true
	}
	return len(c.fixed) + len(cgroups)
}

// cgroupPaths lists the paths c tracks, once each, in order.
func (c *compiled) cgroupPaths() []string {
	var paths []string
	for _, v := range c.tracked {
		if !slices.Contains(paths, v.path) {
			paths = append(paths, v.path)
		}
	}
	return paths
}

// rulesNaming lists the rules that name path.
func (c *compiled) rulesNaming(path string) []string {
	var rules []string
	for _, v := range c.tracked {
		if v.path == path && !slices.Contains(rules, v.rule) {
			rules = append(rules, v.rule)
		}
	}
	return rules
}

// missingNotices say which cgroups c names do not exist.
func (c *compiled) missingNotices() []Notice {
	var out []Notice
	for _, s := range slices.Sorted(maps.Keys(c.absent)) {
		out = append(out, Notice{Kind: NoticeSyscallAbsent, Syscall: s, Rules: slices.Compact(c.absent[s])})
	}
	for _, p := range c.cgroupPaths() {
		if c.cgroupID[p] == 0 {
			out = append(out, Notice{Kind: NoticeCgroupMissing, Cgroup: p, Rules: c.rulesNaming(p)})
		}
	}
	return out
}

// Check is Validate, and also returns what the policy would load with but
// its author should know: the cgroups it names that do not exist now.
func (c Config) Check() ([]Notice, error) {
	compiled, err := compile(c, 0)
	if err != nil {
		return nil, err
	}
	if err := validateRingBufferSize(c.RingBufferBytes); err != nil {
		return nil, err
	}
	return compiled.missingNotices(), nil
}
