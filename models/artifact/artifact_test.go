package artifact

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

type params struct {
	W []float64 `json:"w"`
}

func saved(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), KindConversion)
	_, err := Save(dir, Manifest{Kind: KindConversion, Model: "logistic", FeatureNames: []string{"a", "b"}}, params{W: []float64{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRoundTrip(t *testing.T) {
	dir := saved(t)
	var p params
	m, err := Load(dir, KindConversion, &p)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.W) != 2 || p.W[1] != 2 || m.FeatureNames[1] != "b" || !strings.HasPrefix(m.Version, "logistic-") {
		t.Fatalf("got %+v %+v", p, m)
	}
}

// TestBuildRecorded: every artifact names the build that wrote it (docs/cli.md, "version").
func TestBuildRecorded(t *testing.T) {
	dir := saved(t)
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"go_version": "`+runtime.Version()+`"`) {
		t.Fatalf("manifest lacks build.go_version %s:\n%s", runtime.Version(), raw)
	}
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Build.GoVersion != runtime.Version() {
		t.Fatalf("Build %+v", m.Build)
	}
}

func TestLoadRefuses(t *testing.T) {
	tests := []struct {
		name   string
		damage func(dir string)
		kind   string
		want   error
	}{
		{"truncated payload", func(d string) {
			b, _ := os.ReadFile(filepath.Join(d, PayloadFile))
			os.WriteFile(filepath.Join(d, PayloadFile), b[:len(b)/2], 0o644)
		}, KindConversion, ErrChecksum},
		{"tampered payload", func(d string) {
			b, _ := os.ReadFile(filepath.Join(d, PayloadFile))
			os.WriteFile(filepath.Join(d, PayloadFile), []byte(strings.Replace(string(b), "1", "9", 1)), 0o644)
		}, KindConversion, ErrChecksum},
		{"wrong version", func(d string) {
			b, _ := os.ReadFile(filepath.Join(d, ManifestFile))
			os.WriteFile(filepath.Join(d, ManifestFile), []byte(strings.Replace(string(b), `"format_version": 1`, `"format_version": 99`, 1)), 0o644)
		}, KindConversion, ErrVersion},
		{"garbage manifest", func(d string) {
			os.WriteFile(filepath.Join(d, ManifestFile), []byte("{not json"), 0o644)
		}, KindConversion, ErrCorrupt},
		{"wrong kind", func(string) {}, KindChurn, ErrKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := saved(t)
			tt.damage(dir)
			var p params
			_, err := Load(dir, tt.kind, &p)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var ae *Error
			if !errors.As(err, &ae) || ae.Path == "" {
				t.Fatalf("err %v does not name the file", err)
			}
		})
	}
}
