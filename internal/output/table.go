package output

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/container"
)

// The tutorial's four columns come first and in its order; the rest follow.
// CONTAINER is the caller's container, by the 12-digit short id engines show.
var columns = []struct {
	title string
	width int
}{
	{"TIME", 9}, {"PID", 8}, {"COMM", 17}, {"SUCCESS", 8}, {"TID", 8}, {"PPID", 8}, {"UID", 6}, {"CONTAINER", 13},
	{"SYSCALL", 21}, {"REQUEST", 19}, {"TARGET", 8}, {"SIGNAL", 11}, {"ACTION", 22}, {"RESULT", 7}, {"TIER", 0},
}

type tableWriter struct {
	lineBuffer
	second secondText
}

// clock is the table's time of day, in the time's own zone (local).
const clock = "15:04:05"

func (t *tableWriter) Begin() error {
	r := row{b: t.pending}
	for _, c := range columns {
		r.text(c.title)
	}
	return t.endLine(r.b)
}

func (t *tableWriter) Write(ev *guard.Event) error {
	r := row{b: t.pending}
	if ev.Kind == guard.KindLost {
		r.b = t.second.append(r.b, ev.Time, clock)
		r.b = append(r.b, " LOST "...)
		r.b = strconv.AppendUint(r.b, ev.Lost, 10)
		r.b = append(r.b, " events dropped, ring buffer full ("...)
		r.b = strconv.AppendUint(r.b, ev.LostTotal, 10)
		r.b = append(r.b, " since start)"...)
		return t.endLine(r.b)
	}
	switch ev.Kind {
	case guard.KindExited, guard.KindUnconfirmed:
		return t.endLine(appendKill(t.second.append(r.b, ev.Time, clock), ev))
	case guard.KindHeldBack:
		r.b = t.second.append(r.b, ev.Time, clock)
		r.b = append(r.b, " HELD BACK rule "...)
		r.b = append(r.b, ev.Rule...)
		r.b = append(r.b, ": "...)
		r.b = strconv.AppendUint(r.b, ev.HeldBack, 10)
		r.b = append(r.b, " calls past its at_most, not signalled or reported ("...)
		r.b = strconv.AppendUint(r.b, ev.HeldBackTotal, 10)
		r.b = append(r.b, " since the rule loaded)"...)
		return t.endLine(r.b)
	}
	r.time(&t.second, ev.Time)
	r.int(int64(ev.PID))
	r.comm(ev.Comm.Bytes())
	r.text(successText(ev))
	r.int(int64(ev.TID))
	r.int(int64(ev.PPID))
	r.int(int64(ev.UID))
	r.text(orDash(container.ShortID(ev.ContainerID)))
	r.syscall(ev)
	r.request(ev)
	r.int(ev.Target)
	r.text(signalText(ev))
	r.text(actionText(ev))
	r.text(resultText(ev))
	r.text(string(ev.Tier))
	return t.endLine(r.b)
}

// row appends one cell after another, padding each to its column's width
// (at least one space separates columns, even when a value overflows).
type row struct {
	b   []byte
	col int
}

func (r *row) text(v string) {
	start := len(r.b)
	r.b = append(r.b, v...)
	r.end(start)
}

func (r *row) int(v int64) {
	start := len(r.b)
	r.b = strconv.AppendInt(r.b, v, 10)
	r.end(start)
}

func (r *row) time(s *secondText, t time.Time) {
	start := len(r.b)
	r.b = s.append(r.b, t, clock)
	r.end(start)
}

// syscall names the syscall, with /32 for the 32-bit entry.
func (r *row) syscall(ev *guard.Event) {
	start := len(r.b)
	r.b = append(r.b, ev.Syscall.String()...)
	if ev.Compat {
		r.b = append(r.b, "/32"...)
	}
	r.end(start)
}

// request is ptrace's request or io_uring's opcode; for a call judged at
// its exit, what it returned and how long it took.
func (r *row) request(ev *guard.Event) {
	if !ev.AtExit {
		r.text(orDash(ev.RequestName()))
		return
	}
	start := len(r.b)
	r.b = strconv.AppendInt(append(r.b, "ret="...), ev.Ret, 10)
	r.b = append(r.b, ',')
	r.b = append(r.b, ev.Duration.Round(time.Microsecond).String()...)
	r.end(start)
}

func (r *row) comm(comm []byte) {
	start := len(r.b)
	r.b = appendComm(r.b, comm)
	r.end(start)
}

func (r *row) end(start int) {
	width := columns[r.col].width
	r.col++
	if width == 0 {
		return
	}
	for n := len(r.b) - start; n < width-1; n++ {
		r.b = append(r.b, ' ')
	}
	r.b = append(r.b, ' ')
}

// appendKill writes, after the time, the line that proves a kill, or
// warns that it is unproven: "13:54:45 EXITED 8857 strace 142 µs after
// its ptrace (rule r)".
func appendKill(b []byte, ev *guard.Event) []byte {
	if ev.Kind == guard.KindExited {
		b = append(b, " EXITED "...)
	} else {
		b = append(b, " WARNING NOT DEAD "...)
	}
	b = strconv.AppendInt(b, int64(ev.PID), 10)
	b = append(b, ' ')
	b = appendComm(b, ev.Comm.Bytes())
	b = append(b, ' ')
	if ev.Kind == guard.KindExited {
		b = strconv.AppendInt(b, ev.Latency.Microseconds(), 10)
		b = append(b, " µs after its "...)
	} else {
		b = strconv.AppendInt(b, ev.Latency.Milliseconds(), 10)
		b = append(b, " ms after SIGKILL for its "...)
	}
	b = append(b, ev.Syscall.String()...)
	b = append(b, " (rule "...)
	b = append(b, ev.Rule...)
	b = append(b, ')')
	if ev.Resumed > 0 {
		b = append(b, "; resumed "...)
		b = strconv.AppendInt(b, int64(ev.Resumed), 10)
		b = append(b, ", which its attach had stopped"...)
	}
	if ev.Reaped > 0 {
		b = append(b, "; killed its child "...)
		b = strconv.AppendInt(b, int64(ev.Reaped), 10)
	}
	return b
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// signalText names the signal sent, or would be; "-" when a deny rule
// refused the call and sent nothing.
func signalText(ev *guard.Event) string {
	if ev.Denied && ev.Action == guard.ActionDeny {
		return "-"
	}
	return guard.SignalName(ev.Signal)
}

// actionText says what was done: the rule's action, after "denied+" when
// the call was refused as well ("denied" alone for a deny rule).
func actionText(ev *guard.Event) string {
	switch {
	case !ev.Denied:
		return ev.Action.String()
	case ev.Action == guard.ActionDeny:
		return "denied"
	}
	return "denied+" + ev.Action.String()
}

func successText(ev *guard.Event) string {
	if ev.Action == guard.ActionAudit {
		return "-"
	}
	return strconv.FormatBool(ev.Success())
}

// resultText is "0" when the kernel queued the signal, the errno's name
// when it refused, and "-" in audit mode, where nothing was sent.
func resultText(ev *guard.Event) string {
	switch {
	case ev.Action == guard.ActionAudit, ev.Denied && ev.Action == guard.ActionDeny:
		return "-"
	case ev.Result == 0:
		return "0"
	}
	return errnoName(ev.Errno())
}

// appendComm appends a command name so that it cannot forge table lines:
// control characters and bytes that are not UTF-8 become \xNN.
func appendComm(b, comm []byte) []byte {
	const hex = "0123456789abcdef"
	for len(comm) > 0 {
		r, size := utf8.DecodeRune(comm)
		if (r == utf8.RuneError && size == 1) || r < 0x20 || r == 0x7f || r == '\\' {
			c := comm[0]
			b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
			size = 1
		} else {
			b = append(b, comm[:size]...)
		}
		comm = comm[size:]
	}
	return b
}
