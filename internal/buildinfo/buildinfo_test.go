package buildinfo

import (
	"runtime"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	i := Read()
	if i.GoVersion != runtime.Version() {
		t.Fatalf("GoVersion %q, want %q", i.GoVersion, runtime.Version())
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		in   Info
		want string
	}{
		{Info{Version: "v1.2.3", Revision: "0123456789abcdef", GoVersion: "go1.26.8"}, "propensity v1.2.3 (revision 0123456789ab) go1.26.8"},
		{Info{Version: "(devel)", Revision: "abc", Modified: true, GoVersion: "go1.26.8"}, "propensity (devel) (revision abc, modified) go1.26.8"},
		{Info{GoVersion: "go1.26.8"}, "propensity (unknown version) (unknown revision) go1.26.8"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
		if !strings.Contains(tt.in.String(), tt.in.GoVersion) {
			t.Errorf("String() lacks the Go version")
		}
	}
}
