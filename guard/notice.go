package guard

import (
	"fmt"
	"strings"
	"time"
)

// NoticeKind says what a Notice reports.
type NoticeKind uint8

const (
	// NoticeCgroupMissing: a cgroup the policy names does not exist as it
	// loads; its rules match nothing for it until it does.
	NoticeCgroupMissing NoticeKind = iota + 1
	// NoticeCgroupRemoved: a cgroup the policy names went (or was renamed)
	// and has not come back within a moment.
	NoticeCgroupRemoved
	// NoticeCgroupRecreated: a cgroup the policy names was removed and made
	// again at its path (a new id); the kernel now matches the new one.
	NoticeCgroupRecreated
	// NoticeCgroupCreated: a cgroup the policy names, missing until now,
	// exists; the kernel matches it.
	NoticeCgroupCreated
	// NoticeCgroupTracking: following the cgroups went wrong; Err says how.
	NoticeCgroupTracking
	// NoticeCgroupsUnnamed: the whole cgroup v2 hierarchy is not mounted
	// here, so events name no cgroup, container or pod; Err says why.
	NoticeCgroupsUnnamed
	// NoticeSyscallAbsent: a syscall the policy names has no tracepoint
	// on this kernel, which was built without it (init_module without
	// module support): no process can make it here, and Syscall's rules
	// guard nothing of it.
	NoticeSyscallAbsent
)

// Notice is something the guard tells its user while it runs, apart from
// events: what became of the cgroups the policy names.
type Notice struct {
	Kind    NoticeKind
	Time    time.Time
	Cgroup  string   // the path, under the cgroup v2 mount
	Syscall Syscall  // NoticeSyscallAbsent's syscall
	Rules   []string // the rules that name it
	// OldID and NewID are the cgroup's ids before and after (0: none).
	OldID, NewID uint64
	// Latency is how long the kernel matched the wrong id: from the
	// directory's change being read to the kernel's table updated.
	Latency time.Duration
	Err     error
}

func (n Notice) String() string {
	switch n.Kind {
	case NoticeCgroupMissing:
		return fmt.Sprintf("cgroup %s does not exist; %s nothing for it until it does", n.Cgroup, n.rules("matches", "match"))
	case NoticeCgroupRemoved:
		return fmt.Sprintf("cgroup %s (id %d) was removed; %s nothing for it until it is made again",
			n.Cgroup, n.OldID, n.rules("matches", "match"))
	case NoticeCgroupRecreated:
		return fmt.Sprintf("cgroup %s was recreated (id %d -> %d); %s to it (the kernel matched the new id %v after the change was seen)",
			n.Cgroup, n.OldID, n.NewID, n.rules("still applies", "still apply"), n.Latency.Round(time.Microsecond))
	case NoticeCgroupCreated:
		return fmt.Sprintf("cgroup %s now exists (id %d); %s to it (the kernel matched it %v after it was seen)",
			n.Cgroup, n.NewID, n.rules("applies", "apply"), n.Latency.Round(time.Microsecond))
	case NoticeCgroupTracking:
		return fmt.Sprintf("cgroups the policy names are not followed: %v", n.Err)
	case NoticeCgroupsUnnamed:
		return fmt.Sprintf("events name no cgroup, container or pod: %v", n.Err)
	case NoticeSyscallAbsent:
		return fmt.Sprintf("syscall %s has no tracepoint on this kernel, which was built without it (a call of it fails "+
			"with ENOSYS); %s nothing of it here", n.Syscall, n.rules("guards", "guard"))
	}
	return fmt.Sprintf("notice %d", n.Kind)
}

// rules names n's rules as the subject of a verb: "rule a matches",
// "rules a, b match".
func (n Notice) rules(one, many string) string {
	if len(n.Rules) == 1 {
		return "rule " + n.Rules[0] + " " + one
	}
	return "rules " + strings.Join(n.Rules, ", ") + " " + many
}

// noticeBuffer is how many notices wait for a reader before more are
// dropped.
const noticeBuffer = 64

// Notices delivers the guard's notices until Close, which closes the
// channel. Notices nobody reads are dropped once noticeBuffer wait.
func (g *Guard) Notices() <-chan Notice { return g.notices }

// notify queues n without blocking. Callers hold g.mu, which Close takes
// before it closes the channel.
func (g *Guard) notify(n Notice) {
	if n.Time.IsZero() {
		n.Time = time.Now()
	}
	select {
	case g.notices <- n:
	default:
	}
}
