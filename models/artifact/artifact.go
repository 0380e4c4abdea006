// Package artifact stores a fitted model on disk as a directory holding a JSON manifest and a
// JSON payload, with a format version and a SHA-256 checksum that loading verifies.
//
// A models directory (the --models flag) holds one artifact directory per kind, named after the
// kind: conversion/, churn/, ltv/, personas/, uplift/.
package artifact

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/propensity-dev/propensity/internal/atomicfile"
	"github.com/propensity-dev/propensity/internal/buildinfo"
)

// FormatVersion is the on-disk format written by Save; Load refuses any other.
const FormatVersion = 1

// File names inside an artifact directory.
const (
	ManifestFile = "manifest.json"
	PayloadFile  = "model.json"
)

// Kinds of artifact, which are also the subdirectory names in a models directory.
const (
	KindConversion = "conversion"
	KindChurn      = "churn"
	KindLTV        = "ltv"
	KindPersonas   = "personas"
	KindUplift     = "uplift"
)

// Errors returned (wrapped in *Error) by Load.
var (
	ErrChecksum = errors.New("artifact: payload checksum does not match the manifest (file truncated or tampered with)")
	ErrVersion  = errors.New("artifact: unsupported format version")
	ErrCorrupt  = errors.New("artifact: malformed file")
	ErrKind     = errors.New("artifact: unexpected kind")
)

// Error reports a problem with one file of an artifact.
type Error struct {
	Path string // the file
	Err  error  // one of the sentinels above, possibly wrapping a decoding error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Path, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// Window is the time range of the data a model was trained on.
type Window struct {
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
}

// Manifest describes an artifact. Save fills FormatVersion, PayloadSHA256 and, when empty,
// CreatedAt, Version and Build.
type Manifest struct {
	FormatVersion        int                `json:"format_version"`
	Kind                 string             `json:"kind"`  // conversion, churn, ltv, personas
	Model                string             `json:"model"` // logistic, gbt, bgnbd-gg, kmeans, ...
	Version              string             `json:"version"`
	CreatedAt            time.Time          `json:"created_at"`
	FeatureNames         []string           `json:"feature_names,omitempty"`
	FeatureSchemaVersion int                `json:"feature_schema_version,omitempty"`
	TrainingWindow       Window             `json:"training_window,omitzero"`
	DataFingerprint      string             `json:"data_fingerprint,omitempty"`
	Rows                 int                `json:"rows,omitempty"`
	Metrics              map[string]float64 `json:"metrics,omitempty"`
	Options              json.RawMessage    `json:"options,omitempty"`
	PayloadSHA256        string             `json:"payload_sha256"`
	// Build is the propensity build that wrote the artifact (module version, VCS revision,
	// Go version: what `propensity version` prints). Save fills it when empty.
	Build buildinfo.Info `json:"build,omitzero"`
}

// Save writes payload (marshalled as JSON) and m into dir, creating dir if needed. Each file
// is written atomically, the payload first, so a reader never sees a manifest whose payload
// is missing.
func Save(dir string, m Manifest, payload any) (Manifest, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return m, fmt.Errorf("artifact: encoding payload: %w", err)
	}
	sum := sha256.Sum256(body)
	m.FormatVersion = FormatVersion
	m.PayloadSHA256 = hex.EncodeToString(sum[:])
	if m.CreatedAt.IsZero() {
		m.CreatedAt = time.Now().UTC()
	}
	if m.Build == (buildinfo.Info{}) {
		m.Build = buildinfo.Read()
	}
	if m.Version == "" {
		m.Version = m.Model + "-" + m.PayloadSHA256[:12]
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return m, fmt.Errorf("artifact: %w", err)
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, PayloadFile), body, 0o644); err != nil {
		return m, err
	}
	man, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, fmt.Errorf("artifact: encoding manifest: %w", err)
	}
	return m, atomicfile.WriteBytes(filepath.Join(dir, ManifestFile), append(man, '\n'), 0o644)
}

// ReadManifest reads and checks the manifest of the artifact in dir without its payload.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	p := filepath.Join(dir, ManifestFile)
	raw, err := os.ReadFile(p)
	if err != nil {
		return m, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&m); err != nil {
		return m, &Error{p, fmt.Errorf("%w: %v", ErrCorrupt, err)}
	}
	if m.FormatVersion != FormatVersion {
		return m, &Error{p, fmt.Errorf("%w %d (this build reads %d)", ErrVersion, m.FormatVersion, FormatVersion)}
	}
	if len(m.PayloadSHA256) != 64 {
		return m, &Error{p, fmt.Errorf("%w: payload_sha256 missing or malformed", ErrCorrupt)}
	}
	return m, nil
}

// Load reads the artifact in dir, verifies its format version and checksum, and decodes the
// payload into payload (a pointer). If kind is not empty the manifest must have that kind.
func Load(dir, kind string, payload any) (Manifest, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return m, err
	}
	if kind != "" && m.Kind != kind {
		return m, &Error{filepath.Join(dir, ManifestFile), fmt.Errorf("%w: %q, want %q", ErrKind, m.Kind, kind)}
	}
	p := filepath.Join(dir, PayloadFile)
	body, err := os.ReadFile(p)
	if err != nil {
		return m, err
	}
	sum := sha256.Sum256(body)
	if hex.EncodeToString(sum[:]) != m.PayloadSHA256 {
		return m, &Error{p, ErrChecksum}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(payload); err != nil {
		return m, &Error{p, fmt.Errorf("%w: %v", ErrCorrupt, err)}
	}
	return m, nil
}
