package history

import (
	"fmt"
	"os"

	"github.com/propensity-dev/propensity/features"
)

// LoadMapping reads a YAML history config file (features.ParseMapping): the names of the
// history's files and columns.
func LoadMapping(path string) (features.Mapping, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return features.Mapping{}, fmt.Errorf("%w: %v", features.ErrBadMapping, err)
	}
	m, err := features.ParseMapping(data)
	if err != nil {
		return features.Mapping{}, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
