package history

import (
	"context"
	"testing"

	"github.com/propensity-dev/propensity/features"
)

// TestSplitsReadAsRows: reading every split of a generated history gives the rows ReadRows
// hands out (contacts, identities, events, transactions), in the same order, and the rows of
// each split add up to the file's.
func TestSplitsReadAsRows(t *testing.T) {
	dir := generated(t)
	ctx := context.Background()
	opts := features.Options{AsOf: testAsOf}
	var want struct {
		contacts, idents, events, txs []string
	}
	_, err := ReadRows(ctx, dir, features.Mapping{}, RowVisitor{
		Contact:  func(r ContactRow) error { want.contacts = append(want.contacts, r.ContactID+"|"+r.Email); return nil },
		Identity: func(r IdentityRow) error { want.idents = append(want.idents, r.IDA+"|"+r.IDB); return nil },
		Event:    func(r EventRow) error { want.events = append(want.events, r.Type+"|"+r.TS.String()); return nil },
		Transaction: func(r CustomerTransaction) error {
			want.txs = append(want.txs, r.Customer+"|"+r.TS.String())
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	attrs, _, err := ContactAttributes(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		contacts, idents, events, txs []string
	}
	var last Pos
	first := true
	for k := Contacts; k <= Transactions; k++ {
		splits, err := Splits(dir, opts, k)
		if err != nil {
			t.Fatal(err)
		}
		if len(splits) == 0 {
			t.Fatalf("kind %d: no splits", k)
		}
		first = true
		for _, s := range splits {
			rep, err := ReadSplit(ctx, s, opts, attrs, SplitVisitor{
				Contact: func(c *SplitContact) error {
					if len(c.AttrNum) != len(attrs) {
						t.Fatalf("contact %s: %d attribute values, want %d", c.Contact.ID, len(c.AttrNum), len(attrs))
					}
					got.contacts = append(got.contacts, c.Contact.ID+"|"+c.Email)
					return nil
				},
				Identity: func(a, b string) error { got.idents = append(got.idents, a+"|"+b); return nil },
				Event: func(e *SplitEvent) error {
					if !first && !last.Less(e.Pos) {
						t.Fatalf("event positions out of order: %v then %v", last, e.Pos)
					}
					last, first = e.Pos, false
					if e.Key != "" {
						got.events = append(got.events, e.Event.Type+"|"+e.Event.TS.String())
					}
					return nil
				},
				Transaction: func(_ Pos, x CustomerTransaction) error {
					got.txs = append(got.txs, x.Customer+"|"+x.TS.String())
					return nil
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Rows != s.Rows {
				t.Errorf("%s row group %d: read %d rows, the file says %d", s.File, s.RowGroup, rep.Rows, s.Rows)
			}
		}
	}
	for _, c := range []struct {
		name      string
		got, want []string
	}{{"contacts", got.contacts, want.contacts}, {"identities", got.idents, want.idents},
		{"events", got.events, want.events}, {"transactions", got.txs, want.txs}} {
		if len(c.got) != len(c.want) {
			t.Errorf("%s: %d rows from the splits, %d from ReadRows", c.name, len(c.got), len(c.want))
			continue
		}
		for i := range c.got {
			if c.got[i] != c.want[i] {
				t.Errorf("%s row %d: %q from the splits, %q from ReadRows", c.name, i, c.got[i], c.want[i])
				break
			}
		}
	}
	if _, err := ReadSplit(ctx, Split{Kind: Events, File: "x"}, opts, nil, SplitVisitor{}); err == nil {
		t.Error("ReadSplit without a visitor for the split's rows did not fail")
	}
}
