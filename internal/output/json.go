package output

import (
	"io"
	"strconv"
	"syscall"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/guard"
)

// rfc3339Nano keeps all nine digits, so that lines sort as text.
const rfc3339Nano = "2006-01-02T15:04:05.000000000Z07:00"

type jsonWriter struct {
	w   io.Writer
	buf []byte
}

func (j *jsonWriter) Begin() error { return nil }

// Write emits one JSON object per line. Field names are a stable interface:
// add fields, never rename or remove them.
func (j *jsonWriter) Write(ev *guard.Event) error {
	b := append(j.buf[:0], `{"type":`...)
	b = appendJSONString(b, ev.Kind.String())
	b = append(b, `,"time":"`...)
	b = ev.Time.UTC().AppendFormat(b, rfc3339Nano)
	b = append(b, '"')
	switch ev.Kind {
	case guard.KindLost:
		b = appendUintField(b, "lost", ev.Lost)
		b = appendUintField(b, "lost_total", ev.LostTotal)
	case guard.KindExited, guard.KindUnconfirmed:
		// latency_ns: exited, from the offending call's entry to the
		// exit; unconfirmed, since the offending call.
		b = appendIntField(b, "pid", int64(ev.PID))
		b = appendStringField(b, "comm", string(ev.Comm.Bytes()))
		b = appendStringField(b, "syscall", ev.Syscall.String())
		b = appendStringField(b, "rule", ev.Rule)
		b = appendIntField(b, "latency_ns", ev.Latency.Nanoseconds())
		b = appendIntField(b, "resumed", int64(ev.Resumed))
		b = appendIntField(b, "reaped", int64(ev.Reaped))
		b = appendCgroup(b, "", ev.CgroupID, ev.Cgroup, ev.ContainerID, ev.PodUID)
	default:
		b = appendIntField(b, "pid", int64(ev.PID))
		b = appendIntField(b, "tid", int64(ev.TID))
		b = appendIntField(b, "ppid", int64(ev.PPID))
		b = appendUintField(b, "uid", uint64(ev.UID))
		b = appendUintField(b, "gid", uint64(ev.GID))
		b = appendStringField(b, "comm", string(ev.Comm.Bytes()))
		b = appendStringField(b, "syscall", ev.Syscall.String())
		b = append(b, `,"compat":`...)
		b = strconv.AppendBool(b, ev.Compat)
		b = appendStringField(b, "request", ev.RequestName())
		b = appendIntField(b, "request_num", ev.Request)
		b = appendIntField(b, "target", ev.Target)
		b = appendIntField(b, "target_tid", int64(ev.TargetTID))
		b = appendIntField(b, "target_ns_pid", int64(ev.TargetNsPID))
		b = appendStringField(b, "target_kind", ev.TargetKind.String())
		b = appendIntField(b, "ns_pid", int64(ev.NsPID))
		b = appendStringField(b, "signal", guard.SignalName(ev.Signal))
		b = appendIntField(b, "signal_num", int64(ev.Signal))
		b = appendStringField(b, "action", ev.Action.String())
		b = appendStringField(b, "tier", string(ev.Tier))
		b = append(b, `,"denied":`...)
		b = strconv.AppendBool(b, ev.Denied)
		b = appendStringField(b, "rule", ev.Rule)
		b = append(b, `,"success":`...)
		b = strconv.AppendBool(b, ev.Success())
		b = appendIntField(b, "result", int64(ev.Result))
		b = appendStringField(b, "errno", errnoName(ev.Errno()))
		b = appendCgroup(b, "", ev.CgroupID, ev.Cgroup, ev.ContainerID, ev.PodUID)
		b = appendCgroup(b, "target_", ev.TargetCgroupID, ev.TargetCgroup, ev.TargetContainerID, ev.TargetPodUID)
	}
	b = append(b, "}\n"...)
	j.buf = b
	_, err := j.w.Write(b)
	return err
}

// appendCgroup writes one side's cgroup: id (0: none), path, and the
// container and pod the path names ("" for none).
func appendCgroup(b []byte, prefix string, id uint64, path, container, pod string) []byte {
	b = strconv.AppendUint(appendKey(b, prefix, "cgroup_id"), id, 10)
	b = appendJSONString(appendKey(b, prefix, "cgroup"), path)
	b = appendJSONString(appendKey(b, prefix, "container_id"), container)
	return appendJSONString(appendKey(b, prefix, "pod_uid"), pod)
}

// appendKey starts a field: ,"<prefix><name>":
func appendKey(b []byte, prefix, name string) []byte {
	return append(append(append(append(b, ",\""...), prefix...), name...), "\":"...)
}

func appendIntField(b []byte, name string, v int64) []byte {
	b = append(append(append(b, ",\""...), name...), "\":"...)
	return strconv.AppendInt(b, v, 10)
}

func appendUintField(b []byte, name string, v uint64) []byte {
	b = append(append(append(b, ",\""...), name...), "\":"...)
	return strconv.AppendUint(b, v, 10)
}

func appendStringField(b []byte, name string, v string) []byte {
	b = append(append(append(b, ",\""...), name...), "\":"...)
	return appendJSONString(b, v)
}

// appendJSONString quotes s as a JSON string. Bytes that are not UTF-8
// (a comm is whatever the process wrote) become U+FFFD, as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		default:
			b = append(b, s[:size]...)
		}
		s = s[size:]
	}
	return append(b, '"')
}

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
