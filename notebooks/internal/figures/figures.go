// Package figures writes the notebooks' plots into the git-ignored notebooks/figures folder.
package figures

import (
	"fmt"
	"html/template"
	"os"
	"path/filepath"
)

// Dir returns notebooks/figures/<notebook>, creating it. Notebook tests run in their own
// package directory (notebooks/<notebook>), so the folder is one level up.
func Dir(notebook string) (string, error) {
	dir := filepath.Join("..", "figures", notebook)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("figures: %w", err)
	}
	return dir, nil
}

// Write saves an SVG drawn by package training/report (report.Line, report.ROC, ...) as
// notebooks/figures/<notebook>/<name> and returns its path.
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
