package policy

import (
	"strings"
	"syscall"

	"gopkg.in/yaml.v3"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/syscalls"
)

// args reads a rule's argument conditions: a mapping of argument names
// (as the kernel's tracepoint names them) to conditions.
func (p *parser) args(n *yaml.Node, r *guard.Rule) error {
	return p.mapping(n, "args", func(name string, k, v *yaml.Node) error {
		return p.conditions(v, "args: "+name, func(c guard.Condition) {
			r.Args = append(r.Args, guard.ArgCondition{Arg: name, Condition: c})
		})
	})
}

// conditions reads { equals: [...], any_bits: [...], all_bits: [...],
// range: [lo, hi] }: each key present is one condition, all must hold.
func (p *parser) conditions(n *yaml.Node, what string, add func(guard.Condition)) error {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return p.errorAt(n, "%s takes a mapping such as { equals: [1, 2] }, { any_bits: [CLONE_NEWUSER] }, "+
			"{ all_bits: [...] } or { range: [0, 10] }", what)
	}
	return p.mapping(n, what, func(key string, k, v *yaml.Node) error {
		op, err := guard.ParseCondOp(key)
		if err != nil {
			return p.errorAt(k, "%v", err)
		}
		c := guard.Condition{Op: op}
		err = p.list(v, what+" "+key, func(item *yaml.Node) error {
			val, err := syscalls.ParseValue(item.Value)
			if err != nil {
				return p.errorAt(item, "%v", err)
			}
			c.Values = append(c.Values, val)
			return nil
		})
		if err != nil {
			return err
		}
		add(c)
		return nil
	})
}

// when reads a rule's result conditions.
func (p *parser) when(n *yaml.Node, w *guard.When) error {
	return p.mapping(n, "when", func(key string, k, v *yaml.Node) error {
		switch key {
		case "slower_than":
			d, err := syscalls.ParseDuration(v.Value)
			if err != nil || v.Kind != yaml.ScalarNode {
				return p.errorAt(v, "slower_than: %v", err)
			}
			w.SlowerThan = d
			return nil
		case "fails_with":
			return p.list(v, "fails_with", func(item *yaml.Node) error {
				e, err := syscalls.ParseErrno(item.Value)
				if err != nil {
					return p.errorAt(item, "fails_with: %v", err)
				}
				w.FailsWith = append(w.FailsWith, syscall.Errno(e))
				return nil
			})
		case "returns":
			return p.conditions(v, "returns", func(c guard.Condition) {
				if w.Returns == nil {
					w.Returns = &c
				}
			})
		}
		return p.errorAt(k, "unknown key %q under when (use slower_than, fails_with, returns)", key)
	})
}

// deny reads action: deny: true (EPERM), or the errno to refuse with.
func (p *parser) deny(v *yaml.Node) (bool, syscall.Errno, error) {
	var b bool
	if v.Kind == yaml.ScalarNode && v.Decode(&b) == nil {
		return b, 0, nil
	}
	e, err := syscalls.ParseErrno(v.Value)
	if err != nil || v.Kind != yaml.ScalarNode {
		return false, 0, p.errorAt(v, "deny takes true, false, or the errno to refuse with (EPERM, EACCES...): %v", err)
	}
	return true, syscall.Errno(e), nil
}

// atMost reads "COUNT/PERIOD", optionally followed by "per process",
// "per thread", "per cgroup" or "per rule" (process when left out).
func (p *parser) atMost(v *yaml.Node) (*guard.RateLimit, error) {
	if v.Kind != yaml.ScalarNode {
		return nil, p.errorAt(v, "at_most takes COUNT/PERIOD [per process|thread|cgroup|rule], e.g. 1/s or \"10/s per cgroup\"")
	}
	rate, scopeText, scoped := strings.Cut(strings.TrimSpace(v.Value), " per ")
	count, per, err := syscalls.ParseRate(strings.TrimSpace(rate))
	if err != nil {
		return nil, p.errorAt(v, "at_most: %v", err)
	}
	scope := guard.RateProcess
	if scoped {
		if scope, err = guard.ParseRateScope(strings.TrimSpace(scopeText)); err != nil {
			return nil, p.errorAt(v, "at_most: %v", err)
		}
	}
	return &guard.RateLimit{Count: count, Per: per, Scope: scope}, nil
}
