package serving

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/models/artifact"
)

// ErrFeatureSchema: a model was trained on another version of the feature table than this
// build computes online.
var ErrFeatureSchema = errors.New("serving: model trained on another feature schema version")

// ArtifactLoader loads the artifact in dir (checking its checksum: artifact.Load does) and
// returns the model with its manifest.
type ArtifactLoader[T any] func(dir string) (T, artifact.Manifest, error)

// Loader describes where a model set comes from. Each artifact kind is optional: a kind whose
// subdirectory of Dir is missing, or whose loader is nil, is simply not loaded (its block is
// unavailable). A kind whose subdirectory exists but fails to load fails the whole load.
//
// NewLoader sets every kind's loader to this package's (LoadClassifier, LoadLTV,
// LoadPersonas, LoadUplift); tests replace them with fakes.
type Loader struct {
	// Dir is the models directory: conversion/, churn/, ltv/, personas/, uplift/.
	Dir string
	// Rules loads the scorecards; nil means none (rules block unavailable).
	Rules      func() (RulesModel, error)
	Conversion ArtifactLoader[Classifier]
	Churn      ArtifactLoader[Classifier]
	LTV        ArtifactLoader[LTVModel]
	Personas   ArtifactLoader[PersonaModel]
	Uplift     ArtifactLoader[UpliftModel]
	// FeatureOptions are passed to features.ComputeProfile for every profile. When zero,
	// they are taken from the first artifact whose manifest records them (see
	// ManifestFeatureOptions): online features must be computed with the options of the
	// training table (product categories, attributes, half-life), or they drift from it.
	FeatureOptions features.Options
	// ScoresFile, when not empty, is the batch score file behind GET /v1/contacts/{id}.
	ScoresFile string
	// Logger receives one line per kind skipped; nil discards.
	Logger *slog.Logger
}

// NewLoader returns the loader of the models in dir, each kind with its artifact loader of
// this package, and no scorecards (set Rules). It is what `propensity serve` and
// `propensity score --models` load with.
func NewLoader(dir string, log *slog.Logger) *Loader {
	return &Loader{
		Dir:        dir,
		Logger:     log,
		Conversion: LoadClassifier,
		Churn:      LoadClassifier,
		LTV:        LoadLTV,
		Personas:   LoadPersonas,
		Uplift:     LoadUplift,
	}
}

// Load loads a complete model set. It is a LoadFunc.
func (l *Loader) Load(ctx context.Context) (*ModelSet, error) {
	log := l.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	set := &ModelSet{FeatureOptions: l.FeatureOptions}
	var errs []error
	if l.Rules != nil {
		rm, err := l.Rules()
		if err != nil {
			errs = append(errs, fmt.Errorf("scorecards: %w", err))
		}
		set.Rules = rm
	}
	if l.Dir != "" {
		if st, err := os.Stat(l.Dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("models directory %s: not a readable directory", l.Dir)
		}
	}
	errs = append(errs,
		loadKind(l, log, set, artifact.KindConversion, true, l.Conversion, &set.Conversion),
		loadKind(l, log, set, artifact.KindChurn, true, l.Churn, &set.Churn),
		loadKind(l, log, set, artifact.KindLTV, false, l.LTV, &set.LTV),
		loadKind(l, log, set, artifact.KindPersonas, true, l.Personas, &set.Personas),
		loadKind(l, log, set, artifact.KindUplift, true, l.Uplift, &set.Uplift),
	)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if isZeroOptions(set.FeatureOptions) {
		set.FeatureOptions = optionsFromArtifacts(set.Artifacts, log)
	}
	if l.ScoresFile != "" {
		cs, err := OpenContactStore(ctx, l.ScoresFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("scores file: %w", err))
		}
		set.Contacts = cs
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	set.online = features.NewOnline(set.FeatureOptions)
	set.LoadedAt = time.Now().UTC()
	return set, nil
}

// ManifestFeatureOptions returns the feature options recorded in a manifest's options under
// the key "features" (features.Options as JSON: product categories, attributes, half-life),
// and whether there were any.
func ManifestFeatureOptions(m artifact.Manifest) (features.Options, bool) {
	var o struct {
		Features *features.Options `json:"features"`
	}
	if len(m.Options) == 0 || json.Unmarshal(m.Options, &o) != nil || o.Features == nil {
		return features.Options{}, false
	}
	f := *o.Features
	f.AsOf, f.Horizon = time.Time{}, 0
	return f, true
}

func optionsFromArtifacts(arts []Artifact, log *slog.Logger) features.Options {
	var out features.Options
	from := ""
	for _, a := range arts {
		o, ok := ManifestFeatureOptions(a.Manifest)
		if !ok {
			continue
		}
		if from == "" {
			out, from = o, a.Kind
			continue
		}
		if !reflect.DeepEqual(o.ProductCategories, out.ProductCategories) || !reflect.DeepEqual(o.Attributes, out.Attributes) || o.HalfLife != out.HalfLife {
			log.Warn("models were trained with different feature options; online features follow the first",
				"used", from, "differs", a.Kind)
		}
	}
	if from == "" && len(arts) > 0 {
		log.Warn("no artifact records its feature options; online features use defaults (no spend_<category> columns, the profile's attributes)")
	}
	return out
}

func isZeroOptions(o features.Options) bool {
	return o.HalfLife == 0 && o.ProductCategories == nil && o.Attributes == nil
}

func loadKind[T any](l *Loader, log *slog.Logger, set *ModelSet, kind string, usesFeatures bool, load ArtifactLoader[T], dst *T) error {
	if l.Dir == "" {
		return nil
	}
	dir := filepath.Join(l.Dir, kind)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		log.Info("no artifact; block unavailable", "kind", kind)
		return nil
	}
	if load == nil {
		log.Warn("artifact present but this build cannot load it; block unavailable", "kind", kind)
		return nil
	}
	// The ltv and personas commands write their artifact into OUT/model, next to reports:
	// accept models/<kind>/model/ as well as models/<kind>/.
	// A directory without any manifest is not an artifact (yet): the block is unavailable.
	if _, err := os.Stat(filepath.Join(dir, artifact.ManifestFile)); errors.Is(err, fs.ErrNotExist) {
		sub := filepath.Join(dir, "model")
		if _, err := os.Stat(filepath.Join(sub, artifact.ManifestFile)); err != nil {
			log.Warn("no manifest in the artifact directory; block unavailable", "kind", kind, "dir", dir)
			return nil
		}
		dir = sub
	}
	m, man, err := load(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", kind, err)
	}
	if usesFeatures && man.FeatureSchemaVersion != 0 && man.FeatureSchemaVersion != features.SchemaVersion {
		return fmt.Errorf("%s (%s): %w: model has %d, this build computes %d", kind, dir, ErrFeatureSchema,
			man.FeatureSchemaVersion, features.SchemaVersion)
	}
	*dst = m
	set.Artifacts = append(set.Artifacts, Artifact{Kind: kind, Block: BlockOf(kind), Dir: dir, Manifest: man})
	return nil
}
