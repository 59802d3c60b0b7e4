// Package policy reads sigguard policy files (YAML) into guard rules. Every
// error names the file, line and column it is about, and how to fix it.
package policy

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sigguard/sigguard/guard"
)

// Error is a problem at a place in a policy file.
type Error struct {
	File         string
	Line, Column int
	Msg          string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// Load reads and checks a policy file, including that the processes,
// executables and cgroups it names exist.
func Load(path string) (guard.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return guard.Config{}, &Error{File: path, Line: 1, Column: 1, Msg: fmt.Sprintf("cannot read the policy: %v", err)}
	}
	return Parse(path, data)
}

// Parse reads a policy from data; file names it in errors.
func Parse(file string, data []byte) (guard.Config, error) {
	p := &parser{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return guard.Config{}, p.yamlError(err)
	}
	cfg, err := p.document(&doc)
	if err != nil {
		return guard.Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return guard.Config{}, p.locate(err)
	}
	return cfg, nil
}

type parser struct {
	file string
	// where each rule's settings are, to place errors found by the guard
	rules []ruleNodes
}

type ruleNodes struct {
	name     string
	node     *yaml.Node
	settings map[guard.Setting]*yaml.Node
}

func (p *parser) errorAt(n *yaml.Node, format string, args ...any) error {
	line, col := 1, 1
	if n != nil && n.Line > 0 {
		line, col = n.Line, n.Column
	}
	return &Error{File: p.file, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

// yamlError turns the YAML library's "yaml: line N: ..." into our form.
func (p *parser) yamlError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, tail
			}
		}
	}
	return &Error{File: p.file, Line: line, Column: 1, Msg: "not valid YAML: " + msg}
}

// locate places an error the guard found at the setting it is about.
func (p *parser) locate(err error) error {
	var ce *guard.ConfigError
	if !errors.As(err, &ce) {
		return p.errorAt(nil, "%v", err)
	}
	for _, r := range p.rules {
		if r.name != ce.Rule {
			continue
		}
		at := r.node
		if n := r.settings[ce.Setting]; n != nil {
			at = n
		}
		return p.errorAt(at, "%v", err)
	}
	return p.errorAt(nil, "%v", err)
}

func (p *parser) document(doc *yaml.Node) (guard.Config, error) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return guard.Config{}, p.errorAt(doc, "the policy is empty (it needs a rules: list)")
	}
	top := doc.Content[0]
	var cfg guard.Config
	var rulesNode *yaml.Node
	err := p.mapping(top, "the policy", func(key string, k, v *yaml.Node) error {
		switch key {
		case "rules":
			rulesNode = v
			return nil
		case "compat":
			if err := v.Decode(&cfg.Compat); err != nil {
				return p.errorAt(v, "compat takes true or false")
			}
			return nil
		case "keep_collateral":
			if err := v.Decode(&cfg.KeepCollateral); err != nil {
				return p.errorAt(v, "keep_collateral takes true or false")
			}
			return nil
		}
		return p.errorAt(k, "unknown key %q at the top (the policy holds rules:, compat: and keep_collateral:)", key)
	})
	if err != nil {
		return cfg, err
	}
	if rulesNode == nil {
		return cfg, p.errorAt(top, "no rules: list (add rules: with at least one rule)")
	}
	if rulesNode.Kind != yaml.SequenceNode || len(rulesNode.Content) == 0 {
		return cfg, p.errorAt(rulesNode, "rules: must be a list of at least one rule")
	}
	names := map[string]*yaml.Node{}
	for i, n := range rulesNode.Content {
		r, err := p.rule(i, n)
		if err != nil {
			return cfg, err
		}
		if prev, dup := names[r.Name]; dup {
			return cfg, p.errorAt(p.rules[i].settings[guard.SettingName], "rule name %q is used twice (first on line %d; names must be unique)", r.Name, prev.Line)
		}
		names[r.Name] = p.rules[i].settings[guard.SettingName]
		cfg.Rules = append(cfg.Rules, r)
	}
	return cfg, nil
}

// mapping walks a YAML mapping's keys in order.
func (p *parser) mapping(n *yaml.Node, what string, each func(key string, k, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return p.errorAt(n, "%s must be a mapping of keys to values", what)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return p.errorAt(k, "key %q appears twice in %s", k.Value, what)
		}
		seen[k.Value] = true
		if err := each(k.Value, k, v); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) rule(index int, n *yaml.Node) (guard.Rule, error) {
	r := guard.Rule{Action: guard.ActionSignalProcess, Signal: 9, Name: "rule-" + strconv.Itoa(index+1)}
	nodes := ruleNodes{node: n, settings: map[guard.Setting]*yaml.Node{guard.SettingName: n}}
	what := "rule " + strconv.Itoa(index+1)
	err := p.mapping(n, what, func(key string, k, v *yaml.Node) error {
		switch key {
		case "name":
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				return p.errorAt(v, "name must be a non-empty string")
			}
			r.Name, nodes.settings[guard.SettingName] = v.Value, v
			return nil
		case "syscalls":
			nodes.settings[guard.SettingSyscalls] = v
			return p.list(v, "syscalls", func(item *yaml.Node) error {
				set, err := guard.ParseSyscalls(item.Value)
				if err != nil {
					return p.errorAt(item, "%v", err)
				}
				r.Syscalls = appendNew(r.Syscalls, set...)
				return nil
			})
		case "match":
			return p.matchers(v, "match", &r.Match, nodes.settings)
		case "except":
			return p.matchers(v, "except", &r.Except, nodes.settings)
		case "action":
			return p.action(v, &r, nodes.settings)
		case "args":
			nodes.settings[guard.SettingArgs] = v
			return p.args(v, &r)
		case "when":
			nodes.settings[guard.SettingWhen] = v
			return p.when(v, &r.When)
		}
		return p.errorAt(k, "unknown key %q in a rule (use name, syscalls, match, except, args, when, action)", key)
	})
	nodes.name = r.Name
	p.rules = append(p.rules, nodes)
	return r, err
}

func appendNew(list []guard.Syscall, add ...guard.Syscall) []guard.Syscall {
	for _, s := range add {
		found := false
		for _, have := range list {
			found = found || have == s
		}
		if !found {
			list = append(list, s)
		}
	}
	return list
}

// list walks a list of scalars; a single scalar counts as a list of one.
func (p *parser) list(n *yaml.Node, what string, each func(item *yaml.Node) error) error {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
		if len(items) == 0 {
			return p.errorAt(n, "%s is an empty list (remove the key, or list values)", what)
		}
	}
	for _, item := range items {
		if item.Kind != yaml.ScalarNode {
			return p.errorAt(item, "%s takes plain values, not a nested list or mapping", what)
		}
		if err := each(item); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) matchers(n *yaml.Node, what string, m *guard.Matchers, at map[guard.Setting]*yaml.Node) error {
	return p.keys(n, what, "", m, at)
}

// keys reads the match keys named prefix+key from the mapping n: a key is
// a list of values, or a mapping of the keys under it (target: {pid: ...}
// holds target.pid).
func (p *parser) keys(n *yaml.Node, what, prefix string, m *guard.Matchers, at map[guard.Setting]*yaml.Node) error {
	var names []string // the keys at this level, in the guard's order
	lists := map[string]guard.MatchKey{}
	for _, key := range guard.MatchKeys() {
		rest, ok := strings.CutPrefix(key.Name(), prefix)
		if !ok {
			continue
		}
		name, _, nested := strings.Cut(rest, ".")
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
		if !nested {
			lists[name] = key
		}
	}
	return p.mapping(n, what, func(name string, k, v *yaml.Node) error {
		key, ok := lists[name]
		switch {
		case ok:
			at[key.Setting()] = v
			return p.list(v, name+" (under "+what+")", func(item *yaml.Node) error {
				if err := key.Add(m, item.Value); err != nil {
					return p.errorAt(item, "%v", err)
				}
				return nil
			})
		case slices.Contains(names, name):
			return p.keys(v, name, prefix+name+".", m, at)
		}
		return p.errorAt(k, "unknown key %q under %s (use %s)", name, what, strings.Join(names, ", "))
	})
}

func (p *parser) action(n *yaml.Node, r *guard.Rule, at map[guard.Setting]*yaml.Node) error {
	at[guard.SettingAction] = n
	audit, deny, scope := false, false, ""
	err := p.mapping(n, "action", func(key string, k, v *yaml.Node) error {
		switch key {
		case "signal":
			at[guard.SettingSignal] = v
			sig, err := guard.ParseSignal(v.Value)
			if err != nil || v.Kind != yaml.ScalarNode {
				return p.errorAt(v, "signal: %v", err)
			}
			r.Signal = sig
		case "scope":
			if v.Value != "process" && v.Value != "thread" {
				return p.errorAt(v, "scope %q is neither process nor thread", v.Value)
			}
			scope = v.Value
		case "audit":
			if err := v.Decode(&audit); err != nil {
				return p.errorAt(v, "audit takes true or false")
			}
		case "deny":
			var err error
			if deny, r.DenyErrno, err = p.deny(v); err != nil {
				return err
			}
		case "at_most":
			at[guard.SettingAtMost] = v
			limit, err := p.atMost(v)
			if err != nil {
				return err
			}
			r.AtMost = limit
		default:
			return p.errorAt(k, "unknown key %q under action (use signal, scope, audit, deny, at_most)", key)
		}
		return nil
	})
	switch {
	case err != nil:
		return err
	case audit && scope != "":
		return p.errorAt(n, "audit: true signals nothing, so scope does not apply (remove one)")
	case deny && (audit || scope != "" || at[guard.SettingSignal] != nil):
		return p.errorAt(n, "deny refuses the call and sends nothing, so audit, scope and signal do not apply "+
			"(remove them; without deny, the deny tiers refuse and signal)")
	case deny:
		r.Action = guard.ActionDeny
	case audit:
		r.Action = guard.ActionAudit
	case scope == "thread":
		r.Action = guard.ActionSignalThread
	}
	return nil
}
