// Package output renders guard events for people (a table) and for
// programs (JSON lines). Each event becomes exactly one line. Lines are
// gathered in a reused buffer and written out together, whole lines only:
// when the buffer holds flushAt bytes, and whenever Flush is called.
package output

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sigguard/sigguard/guard"
)

// Format is an output format name.
type Format string

const (
	Table Format = "table"
	JSON  Format = "json"
)

// Formats lists the accepted names, for messages.
var Formats = []Format{Table, JSON}

// ParseFormat accepts a format name.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if strings.EqualFold(s, string(f)) {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown output format %q (use table or json)", s)
}

// Writer turns events into lines.
type Writer interface {
	// Begin puts what comes before the first event (the table header)
	// in the buffer.
	Begin() error
	// Write puts one event in the buffer as one line, and writes the
	// buffer out once it is full.
	Write(ev *guard.Event) error
	// Flush writes out every line not yet written.
	Flush() error
}

// New returns the writer for format f.
func New(f Format, w io.Writer) Writer {
	lines := lineBuffer{w: w, pending: make([]byte, 0, flushAt+maxLine)}
	if f == JSON {
		return &jsonWriter{lineBuffer: lines}
	}
	return &tableWriter{lineBuffer: lines}
}

// flushAt is how much the buffer holds before it is written out: one
// write(2) for about a hundred JSON lines instead of one each, which is
// what lets a flood of events through (docs/benchmarks.md).
const flushAt = 64 << 10

// maxLine is room for the line that passes flushAt, so that the buffer
// does not grow in use (a longer line grows it once).
const maxLine = 8 << 10

// lineBuffer gathers lines for one write.
type lineBuffer struct {
	w       io.Writer
	pending []byte
}

// endLine takes the buffer back as b, pending with one more line
// appended, ends that line, and writes the buffer out once it is full.
func (l *lineBuffer) endLine(b []byte) error {
	l.pending = append(b, '\n')
	if len(l.pending) < flushAt {
		return nil
	}
	return l.Flush()
}

func (l *lineBuffer) Flush() error {
	if len(l.pending) == 0 {
		return nil
	}
	_, err := l.w.Write(l.pending)
	l.pending = l.pending[:0]
	return err
}

// secondText keeps the text of one second of time: lines that follow
// each other mostly fall in the same second, and the rest of a time
// stamp (nanoseconds) is cheap to write.
type secondText struct {
	unix int64
	loc  *time.Location
	text []byte
}

// append appends t formatted with layout, which must stop at the second.
func (s *secondText) append(b []byte, t time.Time, layout string) []byte {
	if sec := t.Unix(); sec != s.unix || t.Location() != s.loc || s.text == nil {
		s.unix, s.loc = sec, t.Location()
		s.text = t.AppendFormat(s.text[:0], layout)
	}
	return append(b, s.text...)
}
