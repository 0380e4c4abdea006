package classifier

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/encode"
)

// FuzzLoadModel feeds arbitrary payloads with a matching checksum to LoadModel: a payload
// that passes the checksum but holds nonsense must fail with an error, never panic, and a
// model that loads must score a row without NaN.
func FuzzLoadModel(f *testing.F) {
	d := synthetic(600, 9)
	res, err := train(d, encode.Options{}, artifact.KindConversion)
	if err != nil {
		f.Fatal(err)
	}
	good, err := json.Marshal(res.Model.Payload)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"version":1,"model":"logistic","inputs":[{"name":"x","kind":"numeric"}],"calibrator":{"method":"platt","a":1}}`))
	f.Add([]byte(`{"version":1,"model":"gbt","gbt":{}}`))
	man := res.Model.Manifest
	f.Fuzz(func(t *testing.T, payload []byte) {
		dir := t.TempDir()
		sum := sha256.Sum256(payload)
		m := man
		m.FormatVersion = artifact.FormatVersion
		m.PayloadSHA256 = hex.EncodeToString(sum[:])
		var p Payload
		if json.Unmarshal(payload, &p) == nil {
			m.FeatureNames = nil
			for _, in := range p.Inputs {
				m.FeatureNames = append(m.FeatureNames, in.Name)
			}
		}
		mb, _ := json.Marshal(m)
		os.WriteFile(filepath.Join(dir, artifact.PayloadFile), payload, 0o644)
		os.WriteFile(filepath.Join(dir, artifact.ManifestFile), mb, 0o644)
		model, err := LoadModel(dir)
		if err != nil {
			return
		}
		rec := map[string]any{}
		for _, in := range model.Payload.Inputs {
			rec[in.Name] = nil
		}
		prob, _, err := model.PredictRow(rec)
		if err == nil && !(prob >= 0 && prob <= 1) {
			t.Fatalf("loaded model predicts %v", prob)
		}
	})
}
