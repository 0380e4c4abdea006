package table

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		name, head string
		comma      rune
		bom        bool
	}{
		{"comma", "a,b,c\n1,2,3\n", ',', false},
		{"semicolon with BOM", "\ufeffa;b;c\n1;2;3\n", ';', true},
		{"tab", "a\tb\n", '\t', false},
		{"commas inside quotes do not count", "\"x, y, z\";b\n", ';', false},
		{"pipe", "a|b|c\n", '|', false},
		{"tie is comma", "a;b,c\n", ',', false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Sniff([]byte(tc.head))
			if d.Comma != tc.comma || d.BOM != tc.bom {
				t.Errorf("Sniff = %q bom %v, want %q bom %v", d.Comma, d.BOM, tc.comma, tc.bom)
			}
		})
	}
}

func TestParseNumber(t *testing.T) {
	for _, tc := range []struct {
		in   string
		mark byte
		want float64
		unit string
		ok   bool
	}{
		{"1.5", '.', 1.5, "", true},
		{"1,5", ',', 1.5, "", true},
		{"1,5", '.', 0, "", false},
		{"1.234", ',', 1234, "", true},
		{"1.234,56", ',', 1234.56, "", true},
		{"1,234.56", '.', 1234.56, "", true},
		{"1 234,5", ',', 1234.5, "", true},
		{"1\u00a0234,5", ',', 1234.5, "", true},
		{"1,23,4", '.', 0, "", false},
		{"€12,50", ',', 12.5, "€", true},
		{"12,50 €", ',', 12.5, "€", true},
		{"-$3.25", '.', -3.25, "$", true},
		{"45%", '.', 45, "%", true},
		{"007", '.', 0, "", false},
		{"0,5", ',', 0.5, "", true},
		{"0.532", ',', 0, "", false},
		{"1e3", '.', 1000, "", true},
		{"abc", '.', 0, "", false},
		{"1.", '.', 0, "", false},
	} {
		v, u, ok := ParseNumber(tc.in, tc.mark)
		if ok != tc.ok || (ok && (v != tc.want || u != tc.unit)) {
			t.Errorf("ParseNumber(%q, %q) = %v %q %v, want %v %q %v", tc.in, tc.mark, v, u, ok, tc.want, tc.unit, tc.ok)
		}
	}
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadEuropeanExport(t *testing.T) {
	var b strings.Builder
	b.WriteString("\ufeffKunden Nr;Umsatz (€);Anzahl;Aktiv;Erstkauf;Größe;Notiz\n")
	for i := range 30 {
		count := []string{"3", "n/a", "NA", "", "7"}[i%5]
		active := []string{"ja", "nein", "Ja"}[i%3]
		day := time.Date(2024, 1, 1+i, 0, 0, 0, 0, time.UTC).Format("02.01.2006")
		b.WriteString(strings.Join([]string{
			"K" + string(rune('A'+i%26)) + string(rune('a'+i/26)),
			"€1.2" + string(rune('0'+i%10)) + "4,5" + string(rune('0'+i%10)),
			count, active, day, []string{"S", "M", "L"}[i%3], "note " + string(rune('a'+i%26)) + string(rune('a'+i/26)),
		}, ";") + "\n")
	}
	p := writeFile(t, "export.csv", b.String())
	tb, err := Read(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := tb.Report
	if r.Delimiter != ";" || !r.BOM || r.Decimal != "," {
		t.Errorf("report dialect = %q bom %v decimal %q", r.Delimiter, r.BOM, r.Decimal)
	}
	want := map[string][2]string{
		"Kunden Nr":  {TypeID, UseDropped},
		"Umsatz (€)": {TypeNumber, UseNumeric},
		"Anzahl":     {TypeInteger, UseNumeric},
		"Aktiv":      {TypeBoolean, UseNumeric},
		"Erstkauf":   {TypeDate, UseDays},
		"Größe":      {TypeCategorical, UseCategorical},
		"Notiz":      {TypeID, UseDropped},
	}
	if len(r.Columns) != len(want) {
		t.Fatalf("report has %d columns, want %d", len(r.Columns), len(want))
	}
	for _, c := range r.Columns {
		w, ok := want[c.Name]
		if !ok || c.Type != w[0] || c.Use != w[1] {
			t.Errorf("column %q: type %s use %s, want %v", c.Name, c.Type, c.Use, w)
		}
	}
	if m := r.Column("Anzahl").Missing; math.Abs(m-0.6) > 1e-9 {
		t.Errorf("Anzahl missing share %v, want 0.6 (n/a, NA and empty)", m)
	}
	if c := tb.Column("Umsatz (€)"); c.Num[1] != 1214.51 {
		t.Errorf("Umsatz row 2 = %v, want 1214.51", c.Num[1])
	}
	if !strings.Contains(strings.Join(r.Column("Umsatz (€)").Why, ";"), `"€" stripped`) {
		t.Errorf("currency strip not reported: %v", r.Column("Umsatz (€)").Why)
	}
	if c := tb.Column("Aktiv"); c.Num[0] != 1 || c.Num[1] != 0 || c.Num[2] != 1 {
		t.Errorf("Aktiv = %v, want ja=1 nein=0 Ja=1", c.Num[:3])
	}
	// The latest date is 2024-01-30, so the reference is 2024-01-31: row 1 is 30 days before.
	if r.Reference != "2024-01-31" || tb.Column("Erstkauf").Num[0] != 30 {
		t.Errorf("reference %s, first days %v", r.Reference, tb.Column("Erstkauf").Num[0])
	}
	if tb.Column("Erstkauf"+WeekdaySuffix) == nil {
		t.Errorf("no weekday column beside a date spanning 30 days")
	}
	var sb strings.Builder
	if err := r.WriteText(&sb); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Kunden Nr", "dropped: id-like", "days before 2024-01-31"} {
		if !strings.Contains(sb.String(), s) {
			t.Errorf("text report lacks %q:\n%s", s, sb.String())
		}
	}
	if strings.Contains(sb.String(), "\ufeff") {
		t.Errorf("text report carries the BOM")
	}
}

func TestAmbiguousRefused(t *testing.T) {
	for _, tc := range []struct{ name, body, col string }{
		{"mixed decimal marks", "a,b\n\"1,5\",x\n2.5,y\n", "a"},
		{"dd/mm or mm/dd", "d;b\n01/02/2024;x\n03/04/2024;y\n", "d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(writeFile(t, "x.csv", tc.body), Options{})
			var e *Error
			if !errors.As(err, &e) || e.Column != tc.col || !errors.Is(err, ErrAmbiguous) {
				t.Fatalf("err = %v, want an ambiguity naming column %q", err, tc.col)
			}
		})
	}
	// An override settles the date order.
	tb, err := Read(writeFile(t, "x.csv", "d;b\n01/02/2024;x\n03/04/2024;y\n"), Options{Overrides: map[string]Override{"d": {As: AsDate, Format: DateSlashMDY}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := tb.Report.Column("d"); got.DateFormat != DateSlashMDY || got.Override == "" {
		t.Errorf("override not applied: %+v", got)
	}
}

func TestDecimalGuessReported(t *testing.T) {
	// 1.234 reads as 1.234 or 1234: the semicolon file's other column says decimal comma.
	tb, err := Read(writeFile(t, "x.csv", "a;b\n1.234;2,5\n2.345;3,5\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := tb.Column("a"); c.Num[0] != 1234 {
		t.Errorf("a = %v, want 1234 (thousands dot, as the file's decimal comma)", c.Num[0])
	}
	if why := tb.Report.Column("a").Why; len(why) == 0 || !strings.Contains(why[0], "decimal comma") {
		t.Errorf("choice not reported: %v", why)
	}
}

func TestRecordedChangedType(t *testing.T) {
	p := writeFile(t, "train.csv", "a;b\n1,5;x\n2,5;y\n")
	tb, err := Read(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := tb.Report
	if _, err := Read(writeFile(t, "score.csv", "a;b\nfoo;x\n"), Options{Recorded: &rec}); err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("changed type: err = %v, want one naming column a", err)
	}
	if _, err := Read(writeFile(t, "score.csv", "b\nx\n"), Options{Recorded: &rec}); err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("missing column: err = %v, want one naming column a", err)
	}
	got, err := Read(writeFile(t, "score.csv", "b;a\nx;3,5\n"), Options{Recorded: &rec})
	if err != nil {
		t.Fatal(err)
	}
	if got.Column("a").Num[0] != 3.5 {
		t.Errorf("a = %v, want 3.5", got.Column("a").Num[0])
	}
}

func TestMissingTokensSettable(t *testing.T) {
	tb, err := Read(writeFile(t, "x.csv", "a\n1\nmissing\n2\n"), Options{Missing: []string{"MISSING"}})
	if err != nil {
		t.Fatal(err)
	}
	if c := tb.Column("a"); c == nil || c.Kind != Numeric || !math.IsNaN(c.Num[1]) {
		t.Errorf("a = %+v, want numeric with row 2 missing", c)
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte("a,b\n1,x\n2,y\n"))
	f.Add([]byte("a;b\n\"1;2\";3\n"))
	f.Add([]byte("\ufeffa\tb\n01,\n"))
	f.Add([]byte("a,a\n"))
	f.Add([]byte("x\n\"unterminated\n"))
	f.Add([]byte("d;v\n01.02.2024;1,5\n13.02.2024;€2.000,25\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "fuzz.csv")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		tb, err := Read(p, Options{})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not a *Error", err, err)
			}
			return
		}
		if tb.Rows() == 0 {
			t.Fatal("no rows without an error")
		}
		for _, c := range tb.Columns {
			if n := len(c.Num) + len(c.Cat); n != tb.Rows() {
				t.Fatalf("column %q has %d values for %d rows", c.Name, n, tb.Rows())
			}
		}
	})
}

func BenchmarkRead(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("id;a;b;c;plan;since;label\n")
	n := 20000
	for i := range n {
		sb.WriteString("c" + strconv.Itoa(i) + ";" + strconv.Itoa(i%97) + ";1,25;;" + []string{"x", "y", "z"}[i%3] + ";" +
			time.Date(2024, 1, 1+i%300, 0, 0, 0, 0, time.UTC).Format("02.01.2006") + ";ja\n")
	}
	p := filepath.Join(b.TempDir(), "bench.csv")
	if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Read(p, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
