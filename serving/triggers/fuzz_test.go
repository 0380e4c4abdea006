package triggers

import (
	"errors"
	"os"
	"testing"
	"time"
)

// FuzzVerify checks the signature header parser: no header panics, every refusal is one of
// the three sentinel errors, and a header made by Sign for the same body verifies.
func FuzzVerify(f *testing.F) {
	body := []byte(`{"delivery_id":"abc"}`)
	for _, h := range []string{Sign("s", body, t0), "t=1,v1=zz", "v1=00", "t=,v1=", "", ",", "t=1,v1=00,v1=11", "t=99999999999999999999,v1=00"} {
		f.Add("s", h, body)
	}
	f.Fuzz(func(t *testing.T, secret, header string, body []byte) {
		err := Verify(secret, header, body, t0, 5*time.Minute)
		if err != nil && !errors.Is(err, ErrSignatureFormat) && !errors.Is(err, ErrSignature) && !errors.Is(err, ErrSignatureAge) {
			t.Fatalf("error is none of the sentinels: %v", err)
		}
		if err := Verify(secret, Sign(secret, body, t0), body, t0, 5*time.Minute); err != nil {
			t.Fatalf("own signature refused: %v", err)
		}
	})
}

// FuzzState checks the reading of a score response: no input panics, and a block that is
// absent leaves its part of the State unavailable.
func FuzzState(f *testing.F) {
	data, err := os.ReadFile("testdata/dealership.good.yml")
	if err != nil {
		f.Fatal(err)
	}
	c, err := ParseEnv(data, "testdata/dealership.good.yml", testEnv)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		`{"contact_id":"c-1","rules":{"total":40,"stage":"mql","mql":true},"churn":{"probability":0.25},"ltv":{"clv":2500.5},"persona":{"name":"family-buyers"}}`,
		`{"contact_id":"c-1","unavailable":["rules","conversion","churn","ltv","persona"]}`,
		`{"rules":`, `null`, `[]`, `{"ltv":{"clv":1e308}}`, `{"persona":{"name":""}}`, `{"rules":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := c.State(b)
		if err != nil {
			return
		}
		if !s.HasLTV && s.LTVTier != "" || !s.HasSegments && len(s.Segments) != 0 || !s.HasRules && (s.Stage != "" || s.MQL) {
			t.Fatalf("values for unavailable blocks: %+v", s)
		}
	})
}
