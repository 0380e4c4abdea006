package main

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * 24 * time.Hour, true},
		{"2w", 14 * 24 * time.Hour, true},
		{"36h", 36 * time.Hour, true},
		{"1.5d", 36 * time.Hour, true},
		{"0d", 0, false},
		{"-3d", 0, false},
		{"d", 0, false},
		{"ten days", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseDuration("horizon", tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("parseDuration(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if tt.ok && got != tt.want {
				t.Fatalf("parseDuration(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-03-10", time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), true},
		{"2026-03-10T12:30:00Z", time.Date(2026, 3, 10, 12, 30, 0, 0, time.UTC), true},
		{"2026-03-10T12:30:00+02:00", time.Date(2026, 3, 10, 10, 30, 0, 0, time.UTC), true},
		{"2026-13-10", time.Time{}, false},
		{"10/03/2026", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseDate("as-of", tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("parseDate(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if tt.ok && !got.Equal(tt.want) {
				t.Fatalf("parseDate(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// TestRealMainUsage: help that was asked for is output (stdout, exit 0); usage shown because
// of a mistake goes to stderr with exit 2 (docs/cli.md, "Help and exit statuses").
func TestRealMainUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // wanted in stdout ("" : stdout must be empty)
		stderr string // wanted in stderr ("" : stderr must be empty)
	}{
		{"no args", nil, exitUsage, "", "Commands:"},
		{"help", []string{"help"}, exitOK, "Commands:", ""},
		{"-h", []string{"-h"}, exitOK, "Commands:", ""},
		{"--help", []string{"--help"}, exitOK, "version", ""},
		{"help command", []string{"help", "ltv"}, exitOK, "Usage: propensity ltv", ""},
		{"command --help", []string{"train", "--help"}, exitOK, "-model", ""},
		{"command -h", []string{"serve", "-h"}, exitOK, "-models", ""},
		{"bad flag", []string{"ltv", "--frobnicate"}, exitUsage, "", "Usage: propensity ltv"},
		{"unknown", []string{"frobnicate"}, exitUsage, "", `unknown command "frobnicate"`},
		{"version", []string{"version"}, exitOK, runtime.Version(), ""},
		{"--version", []string{"--version"}, exitOK, runtime.Version(), ""},
		{"version --json", []string{"version", "--json"}, exitOK, `"go_version": "` + runtime.Version() + `"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := realMain(context.Background(), tt.args, &out, &errb)
			if code != tt.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.code, errb.String())
			}
			for _, c := range []struct {
				name, got, want string
			}{{"stdout", out.String(), tt.stdout}, {"stderr", errb.String(), tt.stderr}} {
				if c.want == "" && c.got != "" {
					t.Errorf("%s should be empty, got %q", c.name, c.got)
				}
				if !strings.Contains(c.got, c.want) {
					t.Errorf("%s %q does not contain %q", c.name, c.got, c.want)
				}
			}
		})
	}
}
