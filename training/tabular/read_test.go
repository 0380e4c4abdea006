package tabular

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/propensity-dev/propensity/internal/shareddata"
	"github.com/propensity-dev/propensity/models/frame"
)

// datasetsDir returns the shared datasets (docs/performance.md) relative to the repository root, skipping the test
// when it is absent (a user's clone).
func datasetsDir(t testing.TB) string {
	t.Helper()
	return shareddata.Dir(t)
}

func writeTemp(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadTableCSV(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		kinds map[string]frame.Kind
		rows  int
		check func(t *testing.T, f *frame.Frame)
	}{
		{
			name: "comma with blanks and numbers as text",
			body: "id,total,plan,churn\na, 1.5 ,x,Yes\nb,,y,No\nc,3,x,No\n",
			kinds: map[string]frame.Kind{"id": frame.Categorical, "total": frame.Numeric,
				"plan": frame.Categorical, "churn": frame.Numeric},
			rows: 3,
			check: func(t *testing.T, f *frame.Frame) {
				c := f.Column("total")
				if c.Num[0] != 1.5 || !math.IsNaN(c.Num[1]) || c.Num[2] != 3 {
					t.Errorf("total = %v", c.Num)
				}
			},
		},
		{
			name:  "semicolon with decimals",
			body:  "a;b\n1;x\n2;y\n",
			kinds: map[string]frame.Kind{"a": frame.Numeric, "b": frame.Categorical},
			rows:  2,
		},
		{
			name:  "tab",
			body:  "a\tb\tc\n1\t2\tz\n",
			kinds: map[string]frame.Kind{"a": frame.Numeric, "b": frame.Numeric, "c": frame.Categorical},
			rows:  1,
		},
		{
			name:  "quoted commas do not count as delimiters",
			body:  "\"x,y\";b\n1;2\n",
			kinds: map[string]frame.Kind{"x,y": frame.Numeric, "b": frame.Numeric},
			rows:  1,
		},
		{
			name:  "leading zero codes stay text, NA tokens are missing",
			body:  "zip,v\n01234,NA\n20000,?\n30000,n/a\n40000,4\n",
			kinds: map[string]frame.Kind{"zip": frame.Categorical, "v": frame.Numeric},
			rows:  4,
			check: func(t *testing.T, f *frame.Frame) {
				if got := f.Column("zip").Cat[0]; got != "01234" {
					t.Errorf("zip = %q", got)
				}
			},
		},
		{
			name:  "booleans are 1/0, inf is text",
			body:  "\ufeffb,n,w\nTRUE,0,inf\nFALSE,1,2\n",
			kinds: map[string]frame.Kind{"b": frame.Numeric, "n": frame.Numeric, "w": frame.Categorical},
			rows:  2,
			check: func(t *testing.T, f *frame.Frame) {
				if got := f.Column("b").Num; got[0] != 1 || got[1] != 0 {
					t.Errorf("b = %v, want TRUE=1 FALSE=0", got)
				}
			},
		},
		{
			name:  "unnamed header cell and CRLF",
			body:  ",a\r\n0,1\r\n1,2\r\n",
			kinds: map[string]frame.Kind{"column_1": frame.Numeric, "a": frame.Numeric},
			rows:  2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ReadTable(writeTemp(t, "t.csv", tt.body), ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if f.Rows() != tt.rows {
				t.Errorf("rows = %d, want %d", f.Rows(), tt.rows)
			}
			if len(f.Columns) != len(tt.kinds) {
				t.Errorf("columns = %v", f.Names())
			}
			for name, k := range tt.kinds {
				c := f.Column(name)
				if c == nil {
					t.Errorf("no column %q in %v", name, f.Names())
					continue
				}
				if c.Kind != k {
					t.Errorf("column %q is %v, want %v", name, c.Kind, k)
				}
			}
			if tt.check != nil {
				tt.check(t, f)
			}
			if err := f.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestReadTableErrors(t *testing.T) {
	tests := []struct {
		name, body string
		want       error
		wantText   []string
	}{
		{"empty", "", ErrHeader, []string{"t.csv:1"}},
		{"header only", "a,b\n", ErrEmpty, []string{"no rows"}},
		{"duplicate header", "a,a\n1,2\n", ErrHeader, []string{`"a" appears twice`}},
		{"ragged", "a,b\n1,2\n3\n", ErrMalformed, []string{"t.csv:3", "1 fields", "expected 2 fields"}},
		{"bare quote", "a,b\n1,x\"y\n", ErrMalformed, []string{"t.csv:2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadTable(writeTemp(t, "t.csv", tt.body), ReadOptions{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var re *ReadError
			if !errors.As(err, &re) {
				t.Fatalf("err %T is not a *ReadError", err)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
	t.Run("unknown categorical column", func(t *testing.T) {
		_, err := ReadTable(writeTemp(t, "t.csv", "a\n1\n"), ReadOptions{Categorical: []string{"zz"}})
		if err == nil || !strings.Contains(err.Error(), `"zz"`) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestReadTableForcedCategorical(t *testing.T) {
	f, err := ReadTable(writeTemp(t, "t.csv", "store,v\n12,1\n7,\n"), ReadOptions{Categorical: []string{"store"}})
	if err != nil {
		t.Fatal(err)
	}
	c := f.Column("store")
	if c.Kind != frame.Categorical || c.Cat[0] != "12" || c.Cat[1] != "7" {
		t.Fatalf("store = %+v", c)
	}
}

func TestReadTableParquet(t *testing.T) {
	type row struct {
		ID    string   `parquet:"id"`
		Total *string  `parquet:"total,optional"`
		Age   *float64 `parquet:"age,optional"`
		N     int64    `parquet:"n"`
		Flag  bool     `parquet:"flag"`
	}
	s := func(v string) *string { return &v }
	x := 42.5
	var buf bytes.Buffer
	if err := parquet.Write(&buf, []row{
		{ID: "a", Total: s("1.5"), Age: &x, N: 3, Flag: true},
		{ID: "b", Total: s(" "), N: 4},
		{ID: "c", Total: nil, Age: &x, N: 5, Flag: true},
	}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "t.parquet")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{p, dir} {
		f, err := ReadTable(path, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if f.Rows() != 3 {
			t.Fatalf("rows = %d", f.Rows())
		}
		tot := f.Column("total")
		if tot.Kind != frame.Numeric || tot.Num[0] != 1.5 || !math.IsNaN(tot.Num[1]) || !math.IsNaN(tot.Num[2]) {
			t.Errorf("total = %+v", tot)
		}
		if c := f.Column("age"); c.Kind != frame.Numeric || !math.IsNaN(c.Num[1]) || c.Num[2] != 42.5 {
			t.Errorf("age = %+v", c)
		}
		if c := f.Column("flag"); c.Kind != frame.Numeric || c.Num[0] != 1 || c.Num[1] != 0 {
			t.Errorf("flag = %+v", c)
		}
		if c := f.Column("id"); c.Kind != frame.Categorical || c.Cat[2] != "c" {
			t.Errorf("id = %+v", c)
		}
	}
	t.Run("truncated", func(t *testing.T) {
		q := filepath.Join(t.TempDir(), "bad.parquet")
		if err := os.WriteFile(q, buf.Bytes()[:buf.Len()/2], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadTable(q, ReadOptions{}); !errors.Is(err, ErrMalformed) {
			t.Fatalf("err = %v, want ErrMalformed", err)
		}
	})
}

// TestReadSharedDatasets checks the real exports: Telco's TotalCharges is text with 11 blanks
// in both the CSV and the Parquet copy (the datasets README, docs/performance.md).
func TestReadSharedDatasets(t *testing.T) {
	dir := datasetsDir(t)
	for _, name := range []string{"telco_churn/telco_churn.csv", "telco_churn/telco_churn.parquet"} {
		t.Run(name, func(t *testing.T) {
			f, err := ReadTable(filepath.Join(dir, name), ReadOptions{Keep: []string{"Churn", "customerID"}})
			if err != nil {
				t.Fatal(err)
			}
			if f.Rows() != 7043 {
				t.Errorf("rows = %d, want 7043", f.Rows())
			}
			tc := f.Column("TotalCharges")
			if tc == nil || tc.Kind != frame.Numeric {
				t.Fatalf("TotalCharges = %+v", tc)
			}
			blanks := 0
			for _, v := range tc.Num {
				if math.IsNaN(v) {
					blanks++
				}
			}
			if blanks != 11 {
				t.Errorf("TotalCharges blanks = %d, want 11", blanks)
			}
			d, err := ExtractLabel(f, LabelOptions{Label: "Churn", ID: "customerID"})
			if err != nil {
				t.Fatal(err)
			}
			// 1,869 churners in the IBM sample (26.5%).
			if d.Positives() != 1869 {
				t.Errorf("positives = %d, want 1869 (positive %q)", d.Positives(), d.Positive)
			}
		})
	}
}

func TestExtractLabel(t *testing.T) {
	f := &frame.Frame{}
	f.AddCategorical("id", []string{"a", "b", "c", "d"})
	f.AddCategorical("yn", []string{"Yes", "No", "", "No"})
	f.AddNumeric("bin", []float64{1, 0, 0, 1})
	f.AddCategorical("color", []string{"red", "blue", "green", "red"})
	f.AddNumeric("x", []float64{1, 2, 3, 4})
	tests := []struct {
		name    string
		opts    LabelOptions
		y       []float64
		pos     string
		errText string
	}{
		{name: "yes/no detected, missing dropped", opts: LabelOptions{Label: "yn", ID: "id"}, y: []float64{1, 0, 0}, pos: "Yes"},
		{name: "numeric 1/0", opts: LabelOptions{Label: "bin"}, y: []float64{1, 0, 0, 1}, pos: "1"},
		{name: "numeric given as 1.0", opts: LabelOptions{Label: "bin", Positive: "1.0"}, y: []float64{1, 0, 0, 1}, pos: "1"},
		{name: "explicit multi-valued", opts: LabelOptions{Label: "color", Positive: "red"}, y: []float64{1, 0, 0, 1}, pos: "red"},
		{name: "ambiguous", opts: LabelOptions{Label: "color"}, errText: "blue, green, red"},
		{name: "absent positive", opts: LabelOptions{Label: "yn", Positive: "Maybe"}, errText: "No, Yes"},
		{name: "no column", opts: LabelOptions{Label: "nope"}, errText: `"nope"`},
		{name: "no excluded column", opts: LabelOptions{Label: "yn", Exclude: []string{"zz"}}, errText: `"zz"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ExtractLabel(f, tt.opts)
			if tt.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want mention of %q", err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Positive != tt.pos {
				t.Errorf("positive = %q, want %q", d.Positive, tt.pos)
			}
			if len(d.Y) != len(tt.y) {
				t.Fatalf("y = %v, want %v", d.Y, tt.y)
			}
			for i := range d.Y {
				if d.Y[i] != tt.y[i] {
					t.Fatalf("y = %v, want %v", d.Y, tt.y)
				}
			}
			if d.X.Index(tt.opts.Label) >= 0 || (tt.opts.ID != "" && d.X.Index(tt.opts.ID) >= 0) {
				t.Errorf("features still hold label or id: %v", d.X.Names())
			}
			if d.X.Rows() != len(d.Y) {
				t.Errorf("X rows %d != len(y) %d", d.X.Rows(), len(d.Y))
			}
		})
	}
}
