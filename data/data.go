// Package data holds the sample scorecards embedded in the binary, so that commands such as
// demo run without any file.
package data

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

//go:embed scorecards/*.yaml
var scorecards embed.FS

// DefaultScorecard is the scorecard used when a command is given none.
const DefaultScorecard = "dealership"

// ScorecardNames returns the names of the embedded scorecards (file names without .yaml),
// sorted.
func ScorecardNames() []string {
	entries, _ := fs.ReadDir(scorecards, "scorecards") // embedded: cannot fail
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	slices.Sort(names)
	return names
}

// Scorecard returns the YAML of the embedded scorecard name (e.g. "dealership").
func Scorecard(name string) ([]byte, error) {
	b, err := scorecards.ReadFile(path.Join("scorecards", name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("data: no embedded scorecard %q (have %s)", name, strings.Join(ScorecardNames(), ", "))
	}
	return b, nil
}
