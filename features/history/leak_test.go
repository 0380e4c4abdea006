package history

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/features"
)

// appendAfter copies the generated history into a new directory whose events, transactions
// and identities become directories of two part files: the original rows, then random rows
// at or after T. With link set, the new rows also tie identifiers together.
func appendAfter(t *testing.T, src string, link bool, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	var cids, aids, emails []string
	_, err := ForEachPerson(context.Background(), src, features.Options{AsOf: testAsOf}, func(p *Person) error {
		cids = append(cids, p.ContactID)
		cids = append(cids, p.MergedIDs...)
		for _, e := range p.Events {
			if e.AnonymousID != "" {
				aids = append(aids, e.AnonymousID)
			}
			if e.Email != "" {
				emails = append(emails, e.Email)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(aids) == 0 {
		aids = []string{"a-none"}
	}
	if len(emails) == 0 {
		emails = []string{"none@example.com"}
	}
	pick := func(s []string) string {
		if rng.IntN(10) == 0 {
			return "new-" + string(rune('a'+rng.IntN(26)))
		}
		return s[rng.IntN(len(s))]
	}
	after := func() int64 { // at or after T, sometimes exactly T
		if rng.IntN(5) == 0 {
			return testAsOf.UnixMicro()
		}
		return testAsOf.Add(time.Duration(rng.Int64N(int64(400 * 24 * time.Hour)))).UnixMicro()
	}
	types := append(features.CanonicalTypes(), "email_send", "custom")
	pages := []string{"/pricing", "/directions", "/careers/x", "/blog/a", "/product/suv", "/"}
	var evs []eventRowT
	for range 3000 {
		e := eventRowT{TS: after(), Type: types[rng.IntN(len(types))], Page: pages[rng.IntN(len(pages))]}
		v := rng.Float64() * 10
		e.Value = &v
		switch k := rng.IntN(3); {
		case link:
			e.ContactID, e.AnonymousID, e.Email = pick(cids), pick(aids), pick(emails)
		case k == 0:
			e.ContactID = pick(cids)
		case k == 1:
			e.AnonymousID = pick(aids)
		default:
			e.Email = pick(emails)
		}
		evs = append(evs, e)
	}
	var txs []txRowT
	for range 1000 {
		txs = append(txs, txRowT{ContactID: pick(cids), TS: after(), Amount: rng.Float64() * 100, Product: "electronics"})
	}
	var ids []idRowT
	if link {
		for range 300 {
			ids = append(ids, idRowT{IDA: pick(cids), IDB: pick(cids), TS: after()})
		}
	}
	dst := filepath.Join(t.TempDir(), "hist")
	copyFile(t, filepath.Join(src, "contacts.parquet"), filepath.Join(dst, "contacts.parquet"))
	for _, name := range []string{"events", "transactions", "identities"} {
		copyFile(t, filepath.Join(src, name+".parquet"), filepath.Join(dst, name+".parquet", "part-0000.parquet"))
	}
	writeRows(t, filepath.Join(dst, "events.parquet", "part-0001.parquet"), evs)
	writeRows(t, filepath.Join(dst, "transactions.parquet", "part-0001.parquet"), txs)
	if link {
		writeRows(t, filepath.Join(dst, "identities.parquet", "part-0001.parquet"), ids)
	}
	return dst
}

// TestNoLeakage appends arbitrary rows at or after T and checks that no feature at T changes.
// Identity links are part of the history too: in the default mode (the DuckDB reference's)
// links seen after T do stitch people, so linking rows are appended only with StrictIdentity.
func TestNoLeakage(t *testing.T) {
	src := generated(t)
	for _, tc := range []struct {
		name   string
		strict bool
	}{{"reference identity", false}, {"strict identity", true}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := features.Options{AsOf: testAsOf, StrictIdentity: tc.strict}
			before, _, err := Build(context.Background(), src, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer before.Release()
			// same columns: fix the discovered product categories and attributes
			opts.ProductCategories = before.Options().ProductCategories
			opts.Attributes = before.Options().Attributes
			after, rep, err := Build(context.Background(), appendAfter(t, src, tc.strict, 3), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer after.Release()
			if rep.Events == 0 {
				t.Fatal("no events read")
			}
			if before.Len() != after.Len() {
				t.Fatalf("people: %d before, %d after appending", before.Len(), after.Len())
			}
			ids := before.ContactIDs()
			if got := after.ContactIDs(); len(got) == len(ids) {
				for i := range ids {
					if got[i] != ids[i] {
						t.Fatalf("row %d: contact %s became %s", i, ids[i], got[i])
					}
				}
			}
			for i := range before.Len() {
				b, a := before.Row(i), after.Row(i)
				for c, col := range b.Schema.Columns {
					if !col.IsFeature() {
						continue
					}
					if col.Kind == features.KindCategorical {
						if a.Strs[c] != b.Strs[c] {
							t.Errorf("%s of %s changed: %q → %q", col.Name, ids[i], b.Strs[c], a.Strs[c])
						}
					} else if !(a.Nums[c] == b.Nums[c] || (a.Nums[c] != a.Nums[c] && b.Nums[c] != b.Nums[c])) {
						t.Errorf("%s of %s changed: %v → %v", col.Name, ids[i], b.Nums[c], a.Nums[c])
					}
				}
			}
		})
	}
}
