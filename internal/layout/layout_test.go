package layout

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/propensity-dev/propensity"

// rule says which of our packages the files of a room may import. A room is a package
// directory and everything under it; the most specific room applies.
type rule struct {
	room string
	// allowed lists rooms the room may import (besides itself and its subpackages).
	allowed []string
	// tests: the rule applies to _test.go files as well.
	tests bool
}

// rules are the arrows of docs/architecture.md. internal/ is the basement every room may
// use (atomic file writes, the canonical event types, the shared datasets' path).
var rules = []rule{
	{room: "models", allowed: []string{"internal"}, tests: true},
	{room: "features", allowed: []string{"internal"}, tests: true}, // the row computation
	{room: "features/history", allowed: []string{"features", "internal"}},
	{room: "serving", allowed: []string{"features", "models", "internal"}},
	{room: "training", allowed: []string{"features", "models", "internal"}},
	{room: "data", allowed: []string{"internal"}},
	{room: "internal", allowed: nil},
	// The flags the two binaries share (propensity and the Beam module's propensity-beam):
	// they sit above the libraries whose options they parse, so only the commands import
	// them (TestCLIFlagsOnlyInCommands).
	{room: "internal/cliflags", allowed: []string{"features", "models", "internal"}},
}

// within reports whether pkg is room or below it.
func within(pkg, room string) bool { return pkg == room || strings.HasPrefix(pkg, room+"/") }

// ruleFor returns the most specific rule for the package directory pkg, or nil.
func ruleFor(pkg string) *rule {
	var best *rule
	for i := range rules {
		r := &rules[i]
		if within(pkg, r.room) && (best == nil || len(r.room) > len(best.room)) {
			best = r
		}
	}
	// A rule for features is for the package itself, not for its subpackages without a
	// rule of their own.
	if best != nil && best.room == "features" && pkg != "features" {
		return &rule{room: pkg, allowed: []string{"features", "internal"}}
	}
	return best
}

// imports maps each Go file of the module (relative path) to the module packages it imports
// (relative to the module root), and each file to all its imports.
func imports(t *testing.T, root string) (ours, all map[string][]string) {
	t.Helper()
	out, every := map[string][]string{}, map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, im := range f.Imports {
			p, err := strconv.Unquote(im.Path.Value)
			if err != nil {
				return err
			}
			every[filepath.ToSlash(rel)] = append(every[filepath.ToSlash(rel)], p)
			if p == module || strings.HasPrefix(p, module+"/") {
				out[filepath.ToSlash(rel)] = append(out[filepath.ToSlash(rel)], strings.TrimPrefix(strings.TrimPrefix(p, module), "/"))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, every
}

// rowForbidden are imports the row part of features must not need: it reads no files and
// builds no tables, so that the service, a live store and a streaming pipeline use it alone.
var rowForbidden = []string{"os", "github.com/apache/arrow-go", "github.com/parquet-go"}

func TestImportArrows(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	files, _ := imports(t, root)
	if len(files) < 50 {
		t.Fatalf("only %d files import our packages: the walk missed the tree", len(files))
	}
	for file, deps := range files {
		pkg := filepath.ToSlash(filepath.Dir(file))
		test := strings.HasSuffix(file, "_test.go")
		for _, dep := range deps {
			// Nothing imports the command or the notebooks (but themselves).
			for _, top := range []string{"cmd", "notebooks"} {
				if within(dep, top) && !within(pkg, top) {
					t.Errorf("%s imports %s: nothing outside %s may", file, dep, top)
				}
			}
			r := ruleFor(pkg)
			if r == nil || (test && !r.tests) || within(dep, r.room) {
				continue
			}
			ok := false
			for _, a := range r.allowed {
				ok = ok || within(dep, a)
			}
			if !ok {
				t.Errorf("%s imports %s: %s may import only %v of ours", file, dep, r.room, r.allowed)
			}
		}
	}
}

func TestRowPartReadsNoFiles(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	_, all := imports(t, root)
	n := 0
	for file, deps := range all {
		if filepath.ToSlash(filepath.Dir(file)) != "features" || strings.HasSuffix(file, "_test.go") {
			continue
		}
		n++
		for _, dep := range deps {
			for _, bad := range rowForbidden {
				if dep == bad || strings.HasPrefix(dep, bad+"/") {
					t.Errorf("%s imports %s: package features reads no files and builds no tables", file, dep)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no files of package features found")
	}
}

// TestRuleFor pins which rule governs a few packages, so a new room is not silently free.
func TestRuleFor(t *testing.T) {
	for pkg, room := range map[string]string{
		"models/gbt": "models", "features": "features", "features/history": "features/history",
		"serving/api/v1": "serving", "serving/batch": "serving", "training/tabular": "training",
		"data/synth": "data", "internal/atomicfile": "internal",
	} {
		r := ruleFor(pkg)
		if r == nil || r.room != room {
			t.Errorf("ruleFor(%s) = %+v, want room %s", pkg, r, room)
		}
	}
	if r := ruleFor("cmd/propensity"); r != nil {
		t.Errorf("cmd has a rule: %+v", r)
	}
}

// TestCLIFlagsOnlyInCommands keeps internal/cliflags out of the libraries: it imports
// features and models, so a library importing it would turn the arrows around.
func TestCLIFlagsOnlyInCommands(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := imports(t, root)
	for file, deps := range files {
		pkg := filepath.ToSlash(filepath.Dir(file))
		for _, dep := range deps {
			if within(dep, "internal/cliflags") && !within(pkg, "cmd") && !within(pkg, "beam") && !within(pkg, "internal/cliflags") {
				t.Errorf("%s imports %s: only the commands (cmd/, beam/) may", file, dep)
			}
		}
	}
}
