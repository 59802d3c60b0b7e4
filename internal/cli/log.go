package cli

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// logFormat is how sigguard writes to stderr: text lines that start with
// "sigguard: " (the default), or JSON lines (time, level, msg and fields)
// for log collectors. Events on stdout are not affected (--output).
type logFormat string

const (
	logText logFormat = "text"
	logJSON logFormat = "json"
)

type logFormatValue logFormat

func (v *logFormatValue) String() string { return string(*v) }
func (v *logFormatValue) Type() string   { return "FORMAT" }
func (v *logFormatValue) Set(s string) error {
	switch f := logFormat(s); f {
	case logText, logJSON:
		*v = logFormatValue(f)
		return nil
	}
	return fmt.Errorf("unknown log format %q (use text or json)", s)
}

// logger writes sigguard's notices, warnings and errors. Every message is
// a sentence a person can read; in JSON its fields come along as well.
type logger struct {
	text io.Writer    // text format: the stream, nil in JSON
	json *slog.Logger // JSON format, nil in text
	mu   sync.Mutex   // one text line at a time
}

func newLogger(format logFormat, w io.Writer) *logger {
	if format == logJSON {
		return &logger{json: slog.New(slog.NewJSONHandler(w, nil))}
	}
	return &logger{text: w}
}

func (l *logger) info(msg string, fields ...any)  { l.log(slog.LevelInfo, msg, fields) }
func (l *logger) warn(msg string, fields ...any)  { l.log(slog.LevelWarn, msg, fields) }
func (l *logger) error(msg string, fields ...any) { l.log(slog.LevelError, msg, fields) }

func (l *logger) log(level slog.Level, msg string, fields []any) {
	if l.json != nil {
		l.json.Log(nil, level, msg, fields...)
		return
	}
	prefix := "sigguard: "
	if level == slog.LevelWarn {
		prefix += "warning: "
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.text, prefix+msg+"\n")
}

// writer is the logger as an io.Writer, for code that writes whole
// "sigguard: ..." lines: each line becomes one message, a warning when it
// says so.
func (l *logger) writer() io.Writer {
	if l.json == nil {
		return l.text
	}
	return &lineWriter{log: l}
}

// loggerFor is the logger behind w when w is one's writer, else a text
// logger onto w.
func loggerFor(w io.Writer) *logger {
	if lw, ok := w.(*lineWriter); ok {
		return lw.log
	}
	return newLogger(logText, w)
}

// lineWriter turns "sigguard: ..." lines into log messages.
type lineWriter struct {
	log     *logger
	mu      sync.Mutex
	partial []byte
}

// lineLevels are the levels of lines written as text, by how they start
// once "sigguard: " is taken off.
var lineLevels = []struct {
	prefix string
	level  slog.Level
	strip  bool
}{
	{"warning: ", slog.LevelWarn, true},
	{"reload rejected", slog.LevelError, false},
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := strings.TrimPrefix(string(w.partial[:i]), "sigguard: ")
		w.partial = w.partial[i+1:]
		level := slog.LevelInfo
		for _, l := range lineLevels {
			if strings.HasPrefix(line, l.prefix) {
				level = l.level
				if l.strip {
					line = strings.TrimPrefix(line, l.prefix)
				}
				break
			}
		}
		w.log.log(level, line, nil)
	}
}
