package output

import (
	"strconv"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/guard"
)

// Times are RFC 3339 in UTC with all nine digits of nanoseconds, so that
// lines sort as text: the second ("2006-01-02T15:04:05."), then the
// nanoseconds and "Z".
const rfc3339Second = "2006-01-02T15:04:05."

type jsonWriter struct {
	lineBuffer
	second secondText
	recent recentCalls
}

func (j *jsonWriter) Begin() error { return nil }

// Write emits one JSON object per line. Field names are a stable interface:
// add fields, never rename or remove them.
func (j *jsonWriter) Write(ev *guard.Event) error {
	b := append(j.pending, `{"type":`...)
	b = appendJSONString(b, ev.Kind.String())
	b = append(b, `,"time":"`...)
	t := ev.Time.UTC()
	b = j.second.append(b, t, rfc3339Second)
	b = appendNanoseconds(b, t.Nanosecond())
	b = append(b, `Z"`...)
	switch ev.Kind {
	case guard.KindLost:
		b = appendUint(b, `,"lost":`, ev.Lost)
		b = appendUint(b, `,"lost_total":`, ev.LostTotal)
	case guard.KindHeldBack:
		b = appendString(b, `,"rule":`, ev.Rule)
		b = appendUint(b, `,"held_back":`, ev.HeldBack)
		b = appendUint(b, `,"held_back_total":`, ev.HeldBackTotal)
	case guard.KindExited, guard.KindUnconfirmed:
		// latency_ns: exited, from the offending call's entry to the
		// exit; unconfirmed, since the offending call.
		b = appendInt(b, `,"pid":`, int64(ev.PID))
		b = appendString(b, `,"comm":`, string(ev.Comm.Bytes()))
		b = appendString(b, `,"syscall":`, ev.Syscall.String())
		b = appendString(b, `,"rule":`, ev.Rule)
		b = appendInt(b, `,"latency_ns":`, ev.Latency.Nanoseconds())
		b = appendInt(b, `,"resumed":`, int64(ev.Resumed))
		b = appendInt(b, `,"reaped":`, int64(ev.Reaped))
		b = appendCgroup(b, &callerKeys, ev.CgroupID, ev.Cgroup, ev.ContainerID, ev.PodUID)
	default:
		b = appendUint(b, `,"boot_ns":`, ev.BootNs)
		if tail, ok := j.recent.tail(ev); ok {
			b = append(b, tail...)
			break
		}
		start := len(b)
		b = appendIntervention(b, ev)
		j.recent.add(ev, b[start:])
	}
	return j.endLine(append(b, '}'))
}

// appendIntervention writes an intervention's fields after its time.
func appendIntervention(b []byte, ev *guard.Event) []byte {
	b = appendInt(b, `,"pid":`, int64(ev.PID))
	b = appendInt(b, `,"tid":`, int64(ev.TID))
	b = appendInt(b, `,"ppid":`, int64(ev.PPID))
	b = appendUint(b, `,"uid":`, uint64(ev.UID))
	b = appendUint(b, `,"gid":`, uint64(ev.GID))
	b = appendString(b, `,"comm":`, string(ev.Comm.Bytes()))
	b = appendString(b, `,"syscall":`, ev.Syscall.String())
	b = appendBool(b, `,"compat":`, ev.Compat)
	b = appendString(b, `,"request":`, ev.RequestName())
	b = appendInt(b, `,"request_num":`, ev.Request)
	b = appendInt(b, `,"target":`, ev.Target)
	b = appendInt(b, `,"target_tid":`, int64(ev.TargetTID))
	b = appendInt(b, `,"target_ns_pid":`, int64(ev.TargetNsPID))
	b = appendString(b, `,"target_kind":`, ev.TargetKind.String())
	b = appendInt(b, `,"ns_pid":`, int64(ev.NsPID))
	b = appendString(b, `,"signal":`, guard.SignalName(ev.Signal))
	b = appendInt(b, `,"signal_num":`, int64(ev.Signal))
	b = appendString(b, `,"action":`, ev.Action.String())
	b = appendString(b, `,"tier":`, string(ev.Tier))
	b = appendBool(b, `,"denied":`, ev.Denied)
	b = appendString(b, `,"rule":`, ev.Rule)
	b = appendBool(b, `,"success":`, ev.Success())
	b = appendInt(b, `,"result":`, int64(ev.Result))
	b = appendString(b, `,"errno":`, errnoName(ev.Errno()))
	b = appendCgroup(b, &callerKeys, ev.CgroupID, ev.Cgroup, ev.ContainerID, ev.PodUID)
	b = appendCgroup(b, &targetKeys, ev.TargetCgroupID, ev.TargetCgroup, ev.TargetContainerID, ev.TargetPodUID)
	return appendGenericCall(b, ev)
}

// argNames names a generic syscall's arguments: the running kernel's
// tracepoints' names (a variable, so that tests need not read them).
var argNames = guard.ArgNames

// appendGenericCall writes a generic route's call: its number, its
// arguments by the names the kernel's tracepoint gives them (hex, as
// registers; a name the kernel does not give is argN), and for a call
// judged at exit, what it returned and how long it took.
func appendGenericCall(b []byte, ev *guard.Event) []byte {
	nr, ok := ev.Syscall.Number()
	if !ok {
		return b
	}
	b = appendInt(b, `,"nr":`, int64(nr))
	b = append(b, `,"args":{`...)
	names := argNames(ev.Syscall)
	for i, name := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, name)
		b = append(b, `:"0x`...)
		b = strconv.AppendUint(b, ev.Args[i], 16)
		b = append(b, '"')
	}
	b = append(b, '}')
	b = appendBool(b, `,"at_exit":`, ev.AtExit)
	if ev.AtExit {
		b = appendInt(b, `,"ret":`, ev.Ret)
		b = appendInt(b, `,"duration_ns":`, ev.Duration.Nanoseconds())
	}
	return b
}

// recentCalls keeps the text after the time of the last few different
// interventions: a flood repeats the same call, from one thread or a few,
// and its lines differ in the time only. A line is copied from here when
// every other field of its event is the same.
type recentCalls struct {
	calls [8]guard.Event // Time zeroed
	tails [8][]byte
	next  int
}

func (r *recentCalls) tail(ev *guard.Event) ([]byte, bool) {
	call := *ev
	call.Time, call.BootNs = time.Time{}, 0
	for i := range r.calls {
		if r.tails[i] != nil && r.calls[i] == call {
			return r.tails[i], true
		}
	}
	return nil, false
}

func (r *recentCalls) add(ev *guard.Event, tail []byte) {
	i := r.next
	r.next = (r.next + 1) % len(r.calls)
	r.calls[i] = *ev
	r.calls[i].Time, r.calls[i].BootNs = time.Time{}, 0
	r.tails[i] = append(r.tails[i][:0], tail...)
}

// appendNanoseconds appends ns (0 to 999999999) as nine digits.
func appendNanoseconds(b []byte, ns int) []byte {
	var digits [9]byte
	for i := len(digits) - 1; i >= 0; i-- {
		digits[i] = byte('0' + ns%10)
		ns /= 10
	}
	return append(b, digits[:]...)
}

// cgroupKeys name one side's cgroup fields.
type cgroupKeys struct{ id, path, container, pod string }

var (
	callerKeys = cgroupKeys{`,"cgroup_id":`, `,"cgroup":`, `,"container_id":`, `,"pod_uid":`}
	targetKeys = cgroupKeys{`,"target_cgroup_id":`, `,"target_cgroup":`, `,"target_container_id":`, `,"target_pod_uid":`}
)

// appendCgroup writes one side's cgroup: id (0: none), path, and the
// container and pod the path names ("" for none).
func appendCgroup(b []byte, k *cgroupKeys, id uint64, path, container, pod string) []byte {
	b = appendUint(b, k.id, id)
	b = appendString(b, k.path, path)
	b = appendString(b, k.container, container)
	return appendString(b, k.pod, pod)
}

// The field writers take the whole key, `,"name":`, so that each field
// is one copy of text and one of its value.

func appendInt(b []byte, key string, v int64) []byte {
	return strconv.AppendInt(append(b, key...), v, 10)
}

func appendUint(b []byte, key string, v uint64) []byte {
	return strconv.AppendUint(append(b, key...), v, 10)
}

func appendBool(b []byte, key string, v bool) []byte {
	return strconv.AppendBool(append(b, key...), v)
}

func appendString(b []byte, key string, v string) []byte {
	return appendJSONString(append(b, key...), v)
}

// appendJSONString quotes s as a JSON string. Bytes that are not UTF-8
// (a comm is whatever the process wrote) become U+FFFD, as encoding/json
// does. Runs of bytes that need no escaping (all of a cgroup path, as a
// rule) are copied whole.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for {
		n := plainPrefix(s)
		b = append(b, s[:n]...)
		if s = s[n:]; s == "" {
			return append(b, '"')
		}
		c, size := s[0], 1
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			var r rune
			if r, size = utf8.DecodeRuneInString(s); r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[:size]...)
			}
		}
		s = s[size:]
	}
}

// plainPrefix is the length of the run of bytes s starts with that a JSON
// string holds as they are: ASCII but for control characters, the quote
// and the backslash. It looks at eight bytes at a time: with every byte
// below 0x80, subtracting per byte borrows, and so sets a high bit,
// exactly where a byte is below 0x20, or is zero once xored with the
// quote or the backslash.
func plainPrefix(s string) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		quote, backslash := w^(ones*'"'), w^(ones*'\\')
		if (w|(w-ones*0x20)|(quote-ones)|(backslash-ones))&highs != 0 {
			break
		}
	}
	for ; i < len(s) && jsonPlain[s[i]]; i++ {
	}
	return i
}

// jsonPlain marks the bytes plainPrefix passes.
var jsonPlain = func() (plain [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		plain[c] = c != '"' && c != '\\'
	}
	return plain
}()

// errnoName is "" for 0 and the errno's symbolic name otherwise.
func errnoName(e syscall.Errno) string {
	if e == 0 {
		return ""
	}
	if name := unix.ErrnoName(e); name != "" {
		return name
	}
	return "errno " + strconv.Itoa(int(e))
}
