package btyd

import (
	"fmt"

	"github.com/propensity-dev/propensity/models/artifact"
)

// ModelName is the artifact manifest's model field for an LTV model.
const ModelName = "bgnbd-gg"

// LoadLTVModel loads and validates the "ltv" artifact in dir (a models directory's ltv/
// subdirectory). The model's ModelVersion is taken from the manifest.
func LoadLTVModel(dir string) (*LTVModel, artifact.Manifest, error) {
	var m LTVModel
	man, err := artifact.Load(dir, artifact.KindLTV, &m)
	if err != nil {
		return nil, man, err
	}
	if err := m.Validate(); err != nil {
		return nil, man, &artifact.Error{Path: dir, Err: fmt.Errorf("%w: %w", artifact.ErrCorrupt, err)}
	}
	m.ModelVersion = man.Version
	return &m, man, nil
}

// SaveLTVModel writes m as an "ltv" artifact into dir, filling the manifest's kind and
// model, and returns the manifest written.
func SaveLTVModel(dir string, m *LTVModel, man artifact.Manifest) (artifact.Manifest, error) {
	if err := m.Validate(); err != nil {
		return man, err
	}
	man.Kind = artifact.KindLTV
	man.Model = ModelName
	saved := *m
	saved.ModelVersion = ""
	return artifact.Save(dir, man, &saved)
}
