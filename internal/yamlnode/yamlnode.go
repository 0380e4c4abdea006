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

// Walker walks a decoder's nodes, reporting problems instead of stopping at the first. The
// decoder gives the sentinels the problems wrap, so that its own error type and sentinels
// are what callers see.
type Walker struct {
	// Report receives each problem: the node it is at (the key, for a key's problem), the
	// field's path, the sentinel it wraps (one of the three below) and the message. It must
	// not be nil.
	Report func(at *yaml.Node, path string, sentinel error, msg string)
	// Invalid is the sentinel of a node of the wrong kind, Unknown of a key without a
	// handler, Duplicate of a key given twice.
	Invalid, Unknown, Duplicate error
	// Visit, if not nil, is called with each key Fields accepts and each element of a List,
	// and its path, before its handler: a decoder records their lines with it.
	Visit func(n *yaml.Node, path string)
}

// Fields walks mapping n (after Resolve), calling the handler of each key in file order with
// the resolved value and the key's path (path + "." + key, or the key alone at the top).
// Unknown and repeated keys, and an n that is not a mapping, are reported. It returns the
// key nodes handled, by name.
func (w Walker) Fields(n *yaml.Node, path string, handlers map[string]func(v *yaml.Node, path string)) map[string]*yaml.Node {
	seen := map[string]*yaml.Node{}
	n = Resolve(n)
	if n.Kind != yaml.MappingNode {
		w.Report(n, path, w.Invalid, "want a mapping, found "+KindName(n))
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
			w.Report(k, p, w.Unknown, fmt.Sprintf("unknown field %q (want one of %s)", k.Value, strings.Join(names, ", ")))
			continue
		}
		if seen[k.Value] != nil {
			w.Report(k, p, w.Duplicate, fmt.Sprintf("field %q given twice", k.Value))
			continue
		}
		seen[k.Value] = k
		if w.Visit != nil {
			w.Visit(k, p)
		}
		h(Resolve(v), p)
	}
	return seen
}

// List walks sequence n, calling each with every resolved element and its path
// (path + "[i]"); an n that is not a list is reported.
func (w Walker) List(n *yaml.Node, path string, each func(i int, e *yaml.Node, path string)) {
	if n.Kind != yaml.SequenceNode {
		w.Report(n, path, w.Invalid, "want a list, found "+KindName(n))
		return
	}
	for i, e := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		if w.Visit != nil {
			w.Visit(e, p)
		}
		each(i, Resolve(e), p)
	}
}

// Scalar returns the text of scalar n; a null or a node of another kind is reported as not
// being want ("a number", "a name").
func (w Walker) Scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		w.Report(n, path, w.Invalid, fmt.Sprintf("want %s, found %s", want, KindName(n)))
		return "", false
	}
	return n.Value, true
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
