package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"
)

// Every sub-command answers -h and --help with its usage on stdout and
// exit status 0.
func TestSubcommandHelpExitsZero(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		want string
	}{
		{"bench", "--runs"},
		{"check", "sigguard check FILE"},
		{"status", "--pin-dir"},
		{"unpin", "--pin-dir"},
	} {
		for _, flag := range []string{"--help", "-h"} {
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), []string{tc.cmd, flag}, &stdout, &stderr)
			if code != exitOK || !strings.Contains(stdout.String(), tc.want) || !strings.Contains(stdout.String(), "Usage:") || stderr.Len() != 0 {
				t.Errorf("sigguard %s %s: exit %d, stdout %q, stderr %q; want exit 0 and a usage naming %q",
					tc.cmd, flag, code, stdout.String(), stderr.String(), tc.want)
			}
		}
	}
}

// Every sub-command takes --log-format as the guard does: in JSON, what it
// writes to stderr is JSON lines, and so is the guard's complaint about
// its other flags; a bad format is bad input.
func TestSubcommandLogFormat(t *testing.T) {
	for _, args := range [][]string{
		{"check", "--log-format", "json", "/nonexistent/policy.yaml"},
		{"check", "--log-format=json", "a.yaml", "b.yaml"},
		{"status", "--log-format=json", "--pin-dir", ""},
		{"unpin", "--log-format", "json", "extra"},
		{"bench", "--log-format=json", "--runs", "0"},
		{"--bogus", "--log-format", "json"},
		{"--log-format=json", "--signal", "0"},
	} {
		var stdout, stderr bytes.Buffer
		if code := Main(context.Background(), args, &stdout, &stderr); code != exitUsage {
			t.Errorf("sigguard %v: exit %d, want %d", args, code, exitUsage)
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		for _, line := range lines {
			var l struct{ Level, Msg string }
			if err := json.Unmarshal([]byte(line), &l); err != nil || l.Level != "ERROR" && l.Level != "WARN" || l.Msg == "" {
				t.Errorf("sigguard %v: stderr line %q is not a JSON error (%v)", args, line, err)
			}
		}
	}
	for _, args := range [][]string{{"check", "--log-format", "xml", "a.yaml"}, {"status", "--log-format"}} {
		var stdout, stderr bytes.Buffer
		if code := Main(context.Background(), args, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "--log-format") && !strings.Contains(stderr.String(), "log format") {
			t.Errorf("sigguard %v: exit %d, stderr %q; want exit 2 naming the flag", args, code, stderr.String())
		}
	}
}

func TestBuildVersion(t *testing.T) {
	vcs := func(main string, settings ...string) *debug.BuildInfo {
		info := &debug.BuildInfo{Main: debug.Module{Path: "github.com/sigguard/sigguard", Version: main}}
		for i := 0; i+1 < len(settings); i += 2 {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return info
	}
	const rev = "d35660ca5942a15072b6b12f021c17bef3286551"
	for _, tc := range []struct {
		override string
		info     *debug.BuildInfo
		want     string
	}{
		{"v1.2.3", vcs("(devel)", "vcs.revision", rev), "v1.2.3"},
		{"", vcs("v0.4.0"), "v0.4.0"},
		{"", vcs("v0.0.0-20261202174559-d35660ca5942", "vcs.revision", rev, "vcs.time", "2026-12-02T17:45:59Z", "vcs.modified", "false"),
			"v0.0.0-20261202174559-d35660ca5942, commit " + rev + " of 2026-12-02T17:45:59Z"},
		{"", vcs("v0.0.0-20261202174559-d35660ca5942+dirty", "vcs.revision", rev, "vcs.modified", "true"),
			"v0.0.0-20261202174559-d35660ca5942+dirty, commit " + rev + " with uncommitted changes"},
		{"", vcs("(devel)", "vcs.revision", rev), "devel, commit " + rev},
		{"", vcs("(devel)"), "devel, commit unknown"},
		{"", nil, "unknown (built without module information)"},
	} {
		if got := buildVersion(tc.override, tc.info); got != tc.want {
			t.Errorf("buildVersion(%q, %+v) = %q, want %q", tc.override, tc.info, got, tc.want)
		}
	}
}

func TestLogFormatFlag(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"--log-format", "xml"}, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), `unknown log format "xml" (use text or json)`) || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("--log-format xml: exit %d, stderr %q; want exit 2 naming text and json", code, stderr.String())
	}
	// Bad input after --log-format json is reported as JSON.
	stderr.Reset()
	code = Main(context.Background(), []string{"--log-format", "json", "--signal", "0"}, &stdout, &stderr)
	var line struct {
		Time, Level, Msg string
		ExitStatus       int `json:"exit_status"`
	}
	if err := json.Unmarshal(stderr.Bytes(), &line); err != nil || code != exitUsage || line.Level != "ERROR" ||
		line.Time == "" || !strings.Contains(line.Msg, "signal 0 is not a signal") || line.ExitStatus != exitUsage {
		t.Errorf("--log-format json --signal 0: exit %d, stderr %q (%v); want one JSON error line", code, stderr.String(), err)
	}
}

// Lines written as text (the reload messages) become JSON lines with a
// level, in one message per line however the writes split them.
func TestLineWriterTurnsTextLinesIntoJSON(t *testing.T) {
	var out bytes.Buffer
	w := newLogger(logJSON, &out).writer()
	for _, chunk := range []string{"sigguard: warning: open route: x\nsigguard: reload rejected, the previous ", "policy stays in force: bad\n", "sigguard: reloaded p.yaml\n"} {
		w.Write([]byte(chunk))
	}
	want := []struct{ level, msg string }{
		{"WARN", "open route: x"},
		{"ERROR", "reload rejected, the previous policy stays in force: bad"},
		{"INFO", "reloaded p.yaml"},
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d: %q", len(lines), len(want), out.String())
	}
	for i, l := range lines {
		var got struct{ Level, Msg string }
		if err := json.Unmarshal([]byte(l), &got); err != nil || got.Level != want[i].level || got.Msg != want[i].msg {
			t.Errorf("line %d: %q (%v), want level %s msg %q", i, l, err, want[i].level, want[i].msg)
		}
	}
	// The text format passes lines through unchanged.
	out.Reset()
	newLogger(logText, &out).writer().Write([]byte("sigguard: reloaded p.yaml\n"))
	if out.String() != "sigguard: reloaded p.yaml\n" {
		t.Errorf("text: %q", out.String())
	}
}
