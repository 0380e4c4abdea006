// Package yamlnode holds the format-independent part of our hand-written YAML decoders
// (scorecards, triggers): following aliases, naming what a node holds, walking a mapping's
// keys, and the "file:line: field: message" form of their errors. Each decoder keeps its own
// error type and sentinels; this package only finds the problems and says what they are.
//
// It is a leaf, like internal/eventtype: it imports nothing of ours, so models/ and
// serving/ may both use it.
package yamlnode

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxAliasDepth bounds the aliases Resolve follows, so that a malformed tree with an alias
// cycle cannot loop forever.
const maxAliasDepth = 100

// Resolve follows aliases; a missing node, or an alias chain deeper than maxAliasDepth,
// reads as null.
func Resolve(n *yaml.Node) *yaml.Node {
	for depth := 0; n != nil && n.Kind == yaml.AliasNode && depth < maxAliasDepth; depth++ {
		n = n.Alias
	}
	if n == nil || n.Kind == yaml.AliasNode {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	return n
}

// KindName says what n holds, for the "found ..." half of a message: "a mapping", "a list",
// "nothing" (null), the quoted scalar, or "a document".
func KindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "a document"
}

// Problem is the kind of a problem Fields finds; decoders map it to their own sentinel.
type Problem int

// Problems Fields reports.
const (
	NotMapping   Problem = iota + 1 // the node is not a mapping
	UnknownField                    // a key has no handler
	Repeated                        // a key is given twice
)

// Walker walks mappings for a decoder, reporting problems instead of stopping at the first.
type Walker struct {
	// Report receives each problem: the node it is at (the key for UnknownField and
	// Repeated), the field's path and the message. It must not be nil.
	Report func(at *yaml.Node, path string, kind Problem, msg string)
	// Key, if not nil, is called with each accepted key and its path, before its handler.
	Key func(key *yaml.Node, path string)
}

// Fields walks mapping n (after Resolve), calling the handler of each key in file order with
// the resolved value and the key's path (path + "." + key, or the key alone at the top).
// Unknown and repeated keys, and an n that is not a mapping, go to Report. It returns the
// key nodes handled, by name.
func (w Walker) Fields(n *yaml.Node, path string, handlers map[string]func(v *yaml.Node, path string)) map[string]*yaml.Node {
	seen := map[string]*yaml.Node{}
	n = Resolve(n)
	if n.Kind != yaml.MappingNode {
		w.Report(n, path, NotMapping, "want a mapping, found "+KindName(n))
		return seen
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := k.Value
		if path != "" {
			p = path + "." + k.Value
		}
		h, ok := handlers[k.Value]
		if !ok {
			names := make([]string, 0, len(handlers))
			for name := range handlers {
				names = append(names, name)
			}
			slices.Sort(names)
			w.Report(k, p, UnknownField, fmt.Sprintf("unknown field %q (want one of %s)", k.Value, strings.Join(names, ", ")))
			continue
		}
		if seen[k.Value] != nil {
			w.Report(k, p, Repeated, fmt.Sprintf("field %q given twice", k.Value))
			continue
		}
		seen[k.Value] = k
		if w.Key != nil {
			w.Key(k, p)
		}
		h(Resolve(v), p)
	}
	return seen
}

// SyntaxError splits an error of yaml.Unmarshal into its line and message: yaml.v3 writes
// "yaml: line N: msg". Line is 0, and msg the whole text, when the error has no line.
func SyntaxError(err error) (line int, msg string) {
	msg = err.Error()
	if rest, ok := strings.CutPrefix(msg, "yaml: line "); ok {
		if i := strings.IndexByte(rest, ':'); i > 0 {
			if l, err := strconv.Atoi(rest[:i]); err == nil {
				return l, strings.TrimSpace(rest[i+1:])
			}
		}
	}
	return 0, msg
}

// Message formats a decoder's error as "file:line: field: msg", leaving out the parts that
// are empty or zero.
func Message(file string, line int, field, msg string) string {
	var b strings.Builder
	if file != "" {
		b.WriteString(file)
		b.WriteByte(':')
	}
	if line > 0 {
		b.WriteString(strconv.Itoa(line))
		b.WriteByte(':')
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if field != "" {
		b.WriteString(field)
		b.WriteString(": ")
	}
	b.WriteString(msg)
	return b.String()
}
