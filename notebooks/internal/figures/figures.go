// Package figures decides where the notebooks' plots and reports go. By default that is a
// temporary folder of the test process, removed at its end (Remove, from TestMain), so that
// go test leaves the source tree as it was and runs in a read-only checkout. With
// PROPENSITY_FIGURES=1 in the environment they are kept in the git-ignored notebooks/figures.
package figures

import (
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// KeepEnv is the environment variable that asks for the figures to be kept in
// notebooks/figures/<notebook>: any value but "" and "0".
const KeepEnv = "PROPENSITY_FIGURES"

// keep reports whether KeepEnv asks for the files.
func keep() bool {
	v := os.Getenv(KeepEnv)
	return v != "" && v != "0"
}

// tempRoot is this process's temporary folder for figures. It is derived from the process
// id, not stored, so that Dir and Remove agree without shared state.
func tempRoot() string {
	return filepath.Join(os.TempDir(), "propensity-figures-"+strconv.Itoa(os.Getpid()))
}

// Dir returns the folder for a notebook's files, creating it: notebooks/figures/<notebook>
// when KeepEnv is set (notebook tests run in notebooks/<notebook>, so that is one level up),
// else <notebook> in this process's temporary folder.
func Dir(notebook string) (string, error) {
	dir := filepath.Join(tempRoot(), notebook)
	if keep() {
		dir = filepath.Join("..", "figures", notebook)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("figures: %w", err)
	}
	return dir, nil
}

// Write saves an SVG drawn by package training/report (report.Line, report.ROC, ...) as
// <name> in Dir(notebook) and returns its path.
func Write(notebook, name string, svg template.HTML) (string, error) {
	dir, err := Dir(notebook)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(svg), 0o644); err != nil {
		return "", fmt.Errorf("figures: %w", err)
	}
	return path, nil
}

// Remove deletes this process's temporary figures; kept figures stay. Notebook packages call
// it from TestMain after m.Run (or let Run do both).
func Remove() error {
	return os.RemoveAll(tempRoot())
}

// Run runs a notebook package's tests and examples, then Remove, and returns the exit code:
// func TestMain(m *testing.M) { os.Exit(figures.Run(m)) }.
func Run(m *testing.M) int {
	code := m.Run()
	Remove()
	return code
}
