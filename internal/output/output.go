// Package output renders guard events for people (a table) and for
// programs (JSON lines). Each event becomes exactly one line, written with
// one Write call from a reused buffer.
package output

import (
	"fmt"
	"io"
	"strings"

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
	// Begin writes what comes before the first event (the table header).
	Begin() error
	// Write writes one event as one line.
	Write(ev *guard.Event) error
}

// New returns the writer for format f.
func New(f Format, w io.Writer) Writer {
	if f == JSON {
		return &jsonWriter{w: w}
	}
	return &tableWriter{w: w}
}
