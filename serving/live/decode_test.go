package live

import (
	"testing"

	"github.com/propensity-dev/propensity/features"
)

// FuzzDecodeRecords: no body makes the record decoders panic, and an accepted event always
// has an identifier and a time in range.
func FuzzDecodeRecords(f *testing.F) {
	for _, s := range []string{
		`{"contact_id":"c1","type":"page_view","ts":"2025-06-01T10:00:00Z","value":3}`,
		`{"contact_id":"c1","created_at":"2025-01-01","age":41,"vip":true,"job":null}`,
		`{"contact_id":"c1","ts":"2025-06-01","amount":12.5,"quantity":2}`,
		`{"id_a":"a","id_b":"b","ts":"2025-06-01"}`,
		"[{\"type\":\"x\"}]\n{}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if e, err := DecodeEvent(b); err == nil {
			if e.Key() == "" || features.CheckTime(e.TS) != nil {
				t.Fatalf("accepted event %+v", e)
			}
		}
		_, _ = DecodeContact(b)
		_, _ = DecodeTransaction(b)
		_, _ = DecodeIdentity(b)
		_, _ = splitBody(b)
	})
}
