package history

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/propensity-dev/propensity/features"
)

// ContactRow is one raw row of the contacts file.
type ContactRow struct {
	ContactID  string
	CreatedAt  time.Time // zero when null
	Email      string
	Stage      string
	StageSince time.Time // zero when null
	// Attributes holds the other columns' non-null values: float64 for numeric columns,
	// string for string and boolean ("true"/"false") columns, as Build reads them.
	Attributes map[string]any
}

// EventRow is one raw row of the events file.
type EventRow struct {
	// EventID is the optional event_id column (written by propensity export).
	EventID     string
	TS          time.Time
	Type        string
	ContactID   string
	AnonymousID string
	Email       string
	Page        string
	Channel     string
	Campaign    string
	Value       float64 // NaN when null
}

// IdentityRow is one raw row of the identities file.
type IdentityRow struct {
	IDA, IDB string
	TS       time.Time // zero when null
}

// RowVisitor receives the raw rows of a history directory; nil functions skip their file.
type RowVisitor struct {
	Contact     func(ContactRow) error
	Event       func(EventRow) error
	Transaction func(CustomerTransaction) error
	Identity    func(IdentityRow) error
}

// EventIDColumn is the optional events column that carries an event's id.
const EventIDColumn = "event_id"

// ReadRows reads the rows of every history file of dir, in file order (contacts, identities,
// events, then transactions), with the column names of m, and hands each usable row to v.
// Rows Build cannot use either (a null id, time or type, a non-finite amount) are counted in
// the report, not handed out. An error from v stops the walk and is returned.
func ReadRows(ctx context.Context, dir string, m features.Mapping, v RowVisitor) (Report, error) {
	var rep Report
	opts := features.Options{Mapping: m}.EnsureDefaults()
	h := newHistory(dir, opts, &rep)
	m = h.opts.Mapping
	if v.Contact != nil {
		if err := h.readContactRows(ctx, v.Contact); err != nil {
			return rep, err
		}
	}
	if v.Identity != nil {
		im := m.Identities
		specs := []colSpec{{im.IDA, wantString, true}, {im.IDB, wantString, true}, {im.TS, wantTime, false}}
		err := h.scan(ctx, im.File, false, nil, specs, func(p *pqFile, st *fileStats, c []vec, n int) error {
			rep.Identities += int64(n)
			for i := range n {
				a, b := str(&c[0], i), str(&c[1], i)
				if len(a) == 0 || len(b) == 0 {
					st.bad("null id")
					continue
				}
				r := IdentityRow{IDA: string(a), IDB: string(b)}
				if c[2].i64 != nil && c[2].valid[i] {
					r.TS = time.Unix(0, c[2].i64[i]).UTC()
				}
				if err := v.Identity(r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return rep, err
		}
	}
	if v.Event != nil {
		specs := append(h.eventSpecs(), colSpec{EventIDColumn, wantString, false})
		err := h.scan(ctx, m.Events.File, false, nil, specs, func(p *pqFile, st *fileStats, c []vec, n int) error {
			rep.Events += int64(n)
			for i := range n {
				if _, ok := h.eventKey(c, i, st); !ok {
					continue
				}
				e := EventRow{TS: time.Unix(0, c[3].i64[i]).UTC(), Type: string(c[4].str[i]),
					ContactID: string(str(&c[0], i)), AnonymousID: string(str(&c[1], i)), Email: string(str(&c[2], i)),
					Page: string(str(&c[5], i)), Channel: string(str(&c[7], i)), Campaign: string(str(&c[8], i)),
					EventID: string(str(&c[9], i)), Value: math.NaN()}
				if c[6].f64 != nil && c[6].valid[i] {
					e.Value = c[6].f64[i]
				}
				if err := v.Event(e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return rep, err
		}
	}
	if v.Transaction != nil {
		tm := m.Transactions
		err := h.scan(ctx, tm.File, false, nil, transactionSpecs(tm), func(p *pqFile, st *fileStats, c []vec, n int) error {
			rep.Transactions += int64(n)
			for i := range n {
				id, ok := h.transactionRow(c, i, st)
				if !ok {
					continue
				}
				x := CustomerTransaction{Customer: string(id), TS: time.Unix(0, c[1].i64[i]).UTC(), Amount: c[2].f64[i],
					Product: string(str(&c[3], i)), Category: string(str(&c[5], i))}
				if c[4].i64 != nil && c[4].valid[i] {
					x.Quantity = c[4].i64[i]
				}
				if err := v.Transaction(x); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// readContactRows reads the contacts file row by row, the attributes found as readContacts
// finds them. A contact_id seen before is counted as a duplicate and skipped, as in Build.
func (h *history) readContactRows(ctx context.Context, fn func(ContactRow) error) error {
	m := h.opts.Mapping.Contacts
	base := contactSpecs(m)
	attrs, _, err := h.contactAttributes(base) // ReadRows does not report ignored columns
	if err != nil {
		return err
	}
	specs := base
	for _, a := range attrs {
		specs = append(specs, colSpec{a.Name, wantAny, false})
	}
	seen := map[string]bool{}
	return h.scan(ctx, m.File, true, nil, specs, func(p *pqFile, st *fileStats, v []vec, n int) error {
		h.rep.Contacts += int64(n)
		for i := range n {
			id, ok := h.contactID(v, i, st, seen)
			if !ok {
				continue
			}
			seen[string(id)] = true
			r := ContactRow{ContactID: string(id), Email: string(str(&v[2], i)), Stage: string(str(&v[3], i)),
				Attributes: make(map[string]any, len(attrs))}
			if v[1].i64 != nil && v[1].valid[i] {
				r.CreatedAt = time.Unix(0, v[1].i64[i]).UTC()
			}
			if v[4].i64 != nil && v[4].valid[i] {
				r.StageSince = time.Unix(0, v[4].i64[i]).UTC()
			}
			for a, attr := range attrs {
				col := &v[len(base)+a]
				switch {
				case p.cols[len(base)+a] == nil || !col.valid[i]:
				case col.f64 != nil:
					if attr.Categorical {
						r.Attributes[attr.Name] = strconv.FormatFloat(col.f64[i], 'g', -1, 64)
					} else if !math.IsNaN(col.f64[i]) {
						r.Attributes[attr.Name] = col.f64[i]
					}
				case col.str != nil:
					if attr.Categorical {
						if len(col.str[i]) > 0 {
							r.Attributes[attr.Name] = string(col.str[i])
						}
					} else if x, err := strconv.ParseFloat(string(col.str[i]), 64); err == nil {
						r.Attributes[attr.Name] = x
					}
				}
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	})
}
