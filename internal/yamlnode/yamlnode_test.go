package yamlnode_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/propensity-dev/propensity/internal/yamlnode"
)

// parse returns the root node of doc.
func parse(t *testing.T, doc string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
		t.Fatal(err)
	}
	return n.Content[0]
}

func TestResolve(t *testing.T) {
	root := parse(t, "a: &x {k: 1}\nb: *x\n")
	if got := yamlnode.Resolve(root.Content[3]); got != root.Content[1] {
		t.Errorf("alias resolves to %v, want the anchored mapping", got)
	}
	if got := yamlnode.Resolve(nil); got.Kind != yaml.ScalarNode || got.Tag != "!!null" {
		t.Errorf("nil resolves to kind %v tag %q, want a null scalar", got.Kind, got.Tag)
	}
	// A cycle of aliases (which yaml.v3 does not build, but a hand-made tree may hold) reads
	// as null instead of looping.
	a := &yaml.Node{Kind: yaml.AliasNode}
	a.Alias = &yaml.Node{Kind: yaml.AliasNode, Alias: a}
	if got := yamlnode.Resolve(a); got.Tag != "!!null" {
		t.Errorf("alias cycle resolves to kind %v tag %q, want null", got.Kind, got.Tag)
	}
}

func TestKindName(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"{a: 1}", "a mapping"},
		{"[1, 2]", "a list"},
		{"~", "nothing"},
		{"hello", `"hello"`},
		{`"3"`, `"3"`},
	} {
		t.Run(tc.doc, func(t *testing.T) {
			if got := yamlnode.KindName(parse(t, tc.doc)); got != tc.want {
				t.Errorf("KindName(%s) = %s, want %s", tc.doc, got, tc.want)
			}
		})
	}
	if got := yamlnode.KindName(&yaml.Node{Kind: yaml.DocumentNode}); got != "a document" {
		t.Errorf("KindName(document) = %s, want a document", got)
	}
}

// Sentinels a decoder would give the walker.
var (
	errInvalid   = errors.New("test: invalid")
	errUnknown   = errors.New("test: unknown")
	errDuplicate = errors.New("test: duplicate")
)

// problem is one call of Walker.Report.
type problem struct {
	line     int
	path     string
	sentinel error
	msg      string
}

// recorder returns a walker that records its problems and visits.
func recorder(problems *[]problem, visits *[]string) yamlnode.Walker {
	return yamlnode.Walker{
		Report: func(at *yaml.Node, path string, sentinel error, msg string) {
			*problems = append(*problems, problem{at.Line, path, sentinel, msg})
		},
		Invalid: errInvalid, Unknown: errUnknown, Duplicate: errDuplicate,
		Visit: func(n *yaml.Node, path string) { *visits = append(*visits, fmt.Sprintf("%d:%s", n.Line, path)) },
	}
}

func TestFields(t *testing.T) {
	root := parse(t, "v: &v 4\ntop:\n  a: 1\n  zz: 2\n  b: *v\n  a: 3\n")
	var problems []problem
	var visits, calls []string
	w := recorder(&problems, &visits)
	record := func(v *yaml.Node, path string) { calls = append(calls, path+"="+v.Value) }
	seen := w.Fields(root.Content[3], "top", map[string]func(*yaml.Node, string){"a": record, "b": record})

	if want := []string{"top.a=1", "top.b=4"}; !slices.Equal(calls, want) {
		t.Errorf("handlers called with %v, want %v (aliases resolved, repeats skipped)", calls, want)
	}
	if want := []string{"3:top.a", "5:top.b"}; !slices.Equal(visits, want) {
		t.Errorf("Visit called with %v, want %v", visits, want)
	}
	want := []problem{
		{4, "top.zz", errUnknown, `unknown field "zz" (want one of a, b)`},
		{6, "top.a", errDuplicate, `field "a" given twice`},
	}
	if !slices.Equal(problems, want) {
		t.Errorf("problems %v, want %v", problems, want)
	}
	if seen["a"] == nil || seen["a"].Line != 3 || seen["b"] == nil || len(seen) != 2 {
		t.Errorf("seen keys %v, want a (line 3) and b", seen)
	}

	problems = nil
	if seen := w.Fields(root.Content[1], "v", nil); len(seen) != 0 {
		t.Errorf("a scalar has keys %v", seen)
	}
	if want := []problem{{1, "v", errInvalid, `want a mapping, found "4"`}}; !slices.Equal(problems, want) {
		t.Errorf("problems %v, want %v", problems, want)
	}
}

func TestList(t *testing.T) {
	root := parse(t, "v: &v x\nl:\n  - a\n  - *v\ns: 1\n")
	var problems []problem
	var visits, calls []string
	w := recorder(&problems, &visits)
	w.List(root.Content[3], "l", func(i int, e *yaml.Node, path string) {
		calls = append(calls, fmt.Sprintf("%d:%s=%s", i, path, e.Value))
	})
	if want := []string{"0:l[0]=a", "1:l[1]=x"}; !slices.Equal(calls, want) {
		t.Errorf("each called with %v, want %v (aliases resolved)", calls, want)
	}
	if want := []string{"3:l[0]", "4:l[1]"}; !slices.Equal(visits, want) {
		t.Errorf("Visit called with %v, want %v", visits, want)
	}
	w.List(root.Content[5], "s", func(int, *yaml.Node, string) { t.Error("each called for a scalar") })
	if want := []problem{{5, "s", errInvalid, `want a list, found "1"`}}; !slices.Equal(problems, want) {
		t.Errorf("problems %v, want %v", problems, want)
	}
}

func TestScalar(t *testing.T) {
	root := parse(t, "a: 1\nb: ~\nc: [1]\n")
	var problems []problem
	w := recorder(&problems, new([]string))
	if s, ok := w.Scalar(root.Content[1], "a", "a number"); !ok || s != "1" {
		t.Errorf("Scalar(1) = %q, %v", s, ok)
	}
	for _, i := range []int{3, 5} {
		if s, ok := w.Scalar(root.Content[i], root.Content[i-1].Value, "a number"); ok {
			t.Errorf("Scalar(%s) = %q, accepted", root.Content[i-1].Value, s)
		}
	}
	want := []problem{
		{2, "b", errInvalid, "want a number, found nothing"},
		{3, "c", errInvalid, "want a number, found a list"},
	}
	if !slices.Equal(problems, want) {
		t.Errorf("problems %v, want %v", problems, want)
	}
}

func TestSyntaxError(t *testing.T) {
	var n yaml.Node
	err := yaml.Unmarshal([]byte("a: 1\nb: [\n"), &n)
	if err == nil {
		t.Fatal("an unclosed list parsed")
	}
	line, msg := yamlnode.SyntaxError(err)
	if line < 2 || msg == "" || msg == err.Error() {
		t.Errorf("SyntaxError(%q) = %d, %q; want the line of the error and the text after it", err, line, msg)
	}
	if line, msg := yamlnode.SyntaxError(errors.New("yaml: no line")); line != 0 || msg != "yaml: no line" {
		t.Errorf("an error without a line gives %d, %q", line, msg)
	}
}

func TestMessage(t *testing.T) {
	for _, tc := range []struct {
		file  string
		line  int
		field string
		want  string
	}{
		{"f.yml", 3, "a.b", "f.yml:3: a.b: bad"},
		{"f.yml", 0, "a.b", "f.yml: a.b: bad"},
		{"", 3, "", "3: bad"},
		{"", 0, "", "bad"},
	} {
		if got := yamlnode.Message(tc.file, tc.line, tc.field, "bad"); got != tc.want {
			t.Errorf("Message(%q, %d, %q) = %q, want %q", tc.file, tc.line, tc.field, got, tc.want)
		}
	}
}
