package cli

import (
	"errors"
	"strings"
	"testing"
)

// Any command line either parses or is refused as bad input; it never
// panics, and a refusal is always a usageError (exit status 2).
func FuzzParseArgs(f *testing.F) {
	f.Add("--ppid\x001234\x00--signal\x00USR1")
	f.Add("--signal=RTMIN+3\x00--thread\x00--output\x00json")
	f.Add("--audit\x00--thread")
	f.Add("--policy\x00p.yaml\x00--ppid\x001")
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\x00")
		o, _, err := parseArgs(args)
		var ue *usageError
		if err != nil && !errors.As(err, &ue) {
			t.Fatalf("%q: error %v is not a usage error", args, err)
		}
		if err == nil && !o.help && o.policy == "" {
			if cfg := o.config(); len(cfg.Rules) != 1 || cfg.Rules[0].Signal < 1 || cfg.Rules[0].Signal > 64 {
				t.Fatalf("%q: accepted as %+v", args, cfg)
			}
		}
	})
}
