package history

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/propensity-dev/propensity/features"
)

// This file is the row-group reader for engines that split a history across machines (the
// Apache Beam module under beam/): it lists the row groups of each history file and reads one
// at a time, with the same column checks and the same row rules as Build, so a distributed
// job computes what Build computes. Build itself does not use it.

// Kind names one of the four history files.
type Kind int

// The history files, in the order Build reads them.
const (
	Contacts Kind = iota
	Identities
	Events
	Transactions
)

// Split is one row group of one part file of a history file: the unit of reading that a
// distributed job hands to one worker.
type Split struct {
	Kind     Kind
	File     string // the part file
	Part     int    // the part file's index among the history file's parts (name order)
	RowGroup int
	Rows     int64
}

// Pos is where a row was read: part file, row group, row within the row group. Comparing
// positions gives the order Build reads rows in, which decides the first of duplicate contact
// ids, the order of transactions at equal times and the order of a person's events.
type Pos struct{ Part, RowGroup, Row int64 }

// Less reports whether p comes before q in file order.
func (p Pos) Less(q Pos) bool {
	if p.Part != q.Part {
		return p.Part < q.Part
	}
	if p.RowGroup != q.RowGroup {
		return p.RowGroup < q.RowGroup
	}
	return p.Row < q.Row
}

// SplitContact is one usable row of the contacts file, with its attribute values in the
// order of the attributes ReadSplit was given (NaN / "" when missing), as Build keeps them.
type SplitContact struct {
	Pos     Pos
	Contact features.ContactInfo
	Email   string
	AttrNum []float64
	AttrStr []string
}

// SplitEvent is one row of the events file.
type SplitEvent struct {
	Pos Pos
	// Links holds the identifiers the row links together (contact_id, anonymous_id, email,
	// those present), when it links two or more and the link counts (see
	// Options.StrictIdentity); else nil. A row that is not usable as an event may still link.
	Links []string
	// Key is the identifier a usable event is attributed to (docs/contract.md §1); "" when the row
	// is not usable as an event (counted as a bad row in the report).
	Key   string
	Event features.Event
}

// SplitVisitor receives the rows of a split; only the function of the split's kind is called.
type SplitVisitor struct {
	Contact     func(*SplitContact) error
	Identity    func(a, b string) error // a link that counts (Options.StrictIdentity)
	Event       func(*SplitEvent) error
	Transaction func(Pos, CustomerTransaction) error
}

// HistoryFile returns the file name of kind k under the mapping m (defaults applied).
func HistoryFile(m features.Mapping, k Kind) string {
	m = m.WithDefaults()
	switch k {
	case Contacts:
		return m.Contacts.File
	case Identities:
		return m.Identities.File
	case Events:
		return m.Events.File
	}
	return m.Transactions.File
}

// Splits lists the row groups of history file k of dir, in file order, checking the column
// types each part file must have. The contacts file is required; a missing other file has no
// splits. The errors are Build's (ErrEmptyDir, ErrMissingColumn, ErrColumnType, ...).
func Splits(dir string, opts features.Options, k Kind) ([]Split, error) {
	opts = opts.EnsureDefaults()
	if k == Contacts {
		st, err := os.Stat(dir)
		if err != nil {
			return nil, &FileError{File: dir, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
		}
		if !st.IsDir() {
			return nil, &FileError{File: dir, Err: fmt.Errorf("%w: not a directory", ErrUnreadable)}
		}
	}
	path := filepath.Join(dir, HistoryFile(opts.Mapping, k))
	parts, ok, err := partFiles(path)
	if err != nil {
		return nil, err
	}
	if !ok {
		if k == Contacts {
			return nil, &FileError{File: path, Err: fmt.Errorf("%w: required history file is missing", ErrEmptyDir)}
		}
		return nil, nil
	}
	h := newHistory(dir, opts, &Report{})
	specs := splitSpecs(h, k, nil)
	var out []Split
	for i, part := range parts {
		p, err := openParquet(part, specs)
		if err != nil {
			return nil, err
		}
		for rg, g := range p.pf.RowGroups() {
			out = append(out, Split{Kind: k, File: part, Part: i, RowGroup: rg, Rows: g.NumRows()})
		}
		p.Close()
	}
	return out, nil
}

// ContactAttributes returns the attributes Build finds in the contacts file of dir when
// Options.Attributes is nil, and the columns it leaves out because of their type.
func ContactAttributes(dir string, opts features.Options) ([]features.Attribute, []IgnoredColumn, error) {
	opts = opts.EnsureDefaults()
	h := newHistory(dir, opts, &Report{})
	return h.contactAttributes(contactSpecs(opts.Mapping.Contacts))
}

// splitSpecs are the columns ReadSplit reads from a file of kind k.
func splitSpecs(h *history, k Kind, attrs []features.Attribute) []colSpec {
	switch k {
	case Contacts:
		specs := contactSpecs(h.opts.Mapping.Contacts)
		for _, a := range attrs {
			specs = append(specs, colSpec{a.Name, wantAny, false})
		}
		return specs
	case Identities:
		m := h.opts.Mapping.Identities
		return []colSpec{{m.IDA, wantString, true}, {m.IDB, wantString, true}, {m.TS, wantTime, false}}
	case Events:
		return h.eventSpecs()
	}
	return transactionSpecs(h.opts.Mapping.Transactions)
}

// rejected returns the first of views whose value in row i is refused, or -1.
func rejected(views []vec, i int) int {
	for c := range views {
		if views[c].rej != nil && views[c].rej[i] {
			return c
		}
	}
	return -1
}

// ReadSplit reads split s of the history dir with opts (defaults applied by the caller or
// here) and hands its rows to v. attrs are the contact attributes (Options.Attributes, or
// ContactAttributes); they matter for the contacts file only. Rows are checked as Build
// checks them: a row Build leaves out is counted in the returned report, not handed out.
// Duplicate contact ids are dropped within the split only: across splits, the caller keeps
// the one at the smallest Pos, as Build keeps the first.
func ReadSplit(ctx context.Context, s Split, opts features.Options, attrs []features.Attribute, v SplitVisitor) (FileReport, error) {
	opts = opts.EnsureDefaults()
	if (s.Kind == Contacts && v.Contact == nil) || (s.Kind == Identities && v.Identity == nil) ||
		(s.Kind == Events && v.Event == nil) || (s.Kind == Transactions && v.Transaction == nil) {
		return FileReport{}, fmt.Errorf("%w: ReadSplit of %s without a visitor for its rows", features.ErrBadOptions, s.File)
	}
	rep := &Report{}
	h := newHistory(filepath.Dir(s.File), opts, rep)
	specs := splitSpecs(h, s.Kind, attrs)
	p, err := openParquet(s.File, specs)
	if err != nil {
		return FileReport{}, err
	}
	defer p.Close()
	if s.RowGroup < 0 || s.RowGroup >= len(p.pf.RowGroups()) {
		return FileReport{}, &FileError{File: s.File, Err: fmt.Errorf("%w: no row group %d", ErrUnreadable, s.RowGroup)}
	}
	st := &fileStats{FileReport{File: s.File}}
	it := newRowIter(p)
	defer it.close()
	it.restart(s.RowGroup, s.RowGroup)
	seen := map[string]bool{}
	var row int64
	for {
		n, err := it.next()
		if err != nil {
			return st.FileReport, err
		}
		if n == 0 {
			break
		}
		st.Rows += int64(n)
		views := it.views
		for i := range n {
			pos := Pos{Part: int64(s.Part), RowGroup: int64(s.RowGroup), Row: row}
			row++
			var err error
			switch s.Kind {
			case Contacts:
				err = h.splitContact(p, views, i, st, seen, pos, attrs, v.Contact)
			case Identities:
				err = h.splitIdentity(p, views, i, st, v.Identity)
			case Events:
				err = h.splitEvent(p, views, i, st, pos, v.Event)
			default:
				err = h.splitTransaction(p, views, i, st, pos, v.Transaction)
			}
			if err != nil {
				return st.FileReport, err
			}
		}
		if err := ctx.Err(); err != nil {
			return st.FileReport, err
		}
	}
	return st.FileReport, nil
}

// badRejected counts row i as bad when one of views refuses its value; it reports whether.
func badRejected(p []*colRef, views []vec, i int, st *fileStats) bool {
	if c := rejected(views, i); c >= 0 {
		st.bad(p[c].rejectReason())
		return true
	}
	return false
}

func (h *history) splitContact(p *pqFile, v []vec, i int, st *fileStats, seen map[string]bool, pos Pos, attrs []features.Attribute, fn func(*SplitContact) error) error {
	if badRejected(p.cols, v, i, st) {
		return nil
	}
	id, ok := h.contactID(v, i, st, seen)
	if !ok {
		return nil
	}
	nb := len(contactSpecs(h.opts.Mapping.Contacts))
	if a := nonFiniteAttribute(attrs, p.cols[nb:], v[nb:], i); a != "" {
		st.bad("non-finite " + a) // a text column of a numeric attribute saying "Infinity"
		return nil
	}
	seen[string(id)] = true
	c := &SplitContact{Pos: pos, Contact: features.ContactInfo{ID: string(id), Created: features.NoTS, StageSince: features.NoTS,
		Stage: string(str(&v[3], i))}, Email: string(str(&v[2], i)),
		AttrNum: make([]float64, len(attrs)), AttrStr: make([]string, len(attrs))}
	if v[1].i64 != nil && v[1].valid[i] {
		c.Contact.Created = v[1].i64[i]
	}
	if v[4].i64 != nil && v[4].valid[i] {
		c.Contact.StageSince = v[4].i64[i]
	}
	for a, attr := range attrs {
		col := &v[nb+a]
		num, s := math.NaN(), ""
		switch {
		case p.cols[nb+a] == nil || !col.valid[i]:
		case col.f64 != nil:
			num = col.f64[i]
			if attr.Categorical {
				num, s = math.NaN(), strconv.FormatFloat(col.f64[i], 'g', -1, 64)
			}
		case col.str != nil:
			s = string(col.str[i])
			if !attr.Categorical {
				s = ""
				if x, err := strconv.ParseFloat(string(col.str[i]), 64); err == nil {
					num = x
				}
			}
		}
		c.AttrNum[a], c.AttrStr[a] = num, s
	}
	return fn(c)
}

func (h *history) splitIdentity(p *pqFile, v []vec, i int, st *fileStats, fn func(a, b string) error) error {
	if badRejected(p.cols, v, i, st) {
		return nil
	}
	m := h.opts.Mapping.Identities
	a, b := str(&v[0], i), str(&v[1], i)
	switch {
	case len(a) == 0:
		st.bad("null " + m.IDA)
		return nil
	case len(b) == 0:
		st.bad("null " + m.IDB)
		return nil
	}
	if h.opts.StrictIdentity && v[2].i64 != nil && v[2].valid[i] && v[2].i64[i] >= h.asOf {
		return nil
	}
	return fn(string(a), string(b))
}

// splitEvent reads row i of an events split. Build reads the events file twice, with
// different columns: the identity pass the ids (and the time when strict), the feature pass
// the first seven columns; a value refused in one pass's columns drops the row from that pass
// only, and so it does here.
func (h *history) splitEvent(p *pqFile, v []vec, i int, st *fileStats, pos Pos, fn func(*SplitEvent) error) error {
	e := &SplitEvent{Pos: pos}
	nLink := 3
	if h.opts.StrictIdentity {
		nLink = 4
	}
	if rejected(v[:nLink], i) < 0 {
		c, a, m := str(&v[0], i), str(&v[1], i), str(&v[2], i)
		var ids []string
		for _, id := range [3][]byte{c, a, m} {
			if len(id) > 0 {
				ids = append(ids, string(id))
			}
		}
		if len(ids) >= 2 && (!h.opts.StrictIdentity || (v[3].valid[i] && v[3].i64[i] < h.asOf)) {
			e.Links = ids
		}
	}
	if !badRejected(p.cols[:7], v[:7], i, st) {
		if key, ok := h.eventKey(v, i, st); ok {
			e.Key = string(key)
			e.Event = features.Event{TS: time.Unix(0, v[3].i64[i]).UTC(), Type: string(v[4].str[i]),
				Page: string(str(&v[5], i)), AnonymousID: string(str(&v[1], i)), Email: string(str(&v[2], i)), Value: math.NaN()}
			if v[6].f64 != nil && v[6].valid[i] {
				e.Event.Value = v[6].f64[i]
			}
			if rejected(v[7:8], i) < 0 {
				e.Event.Channel = string(str(&v[7], i))
			}
			if rejected(v[8:9], i) < 0 {
				e.Event.Campaign = string(str(&v[8], i))
			}
		}
	}
	if e.Key == "" && e.Links == nil {
		return nil
	}
	return fn(e)
}

func (h *history) splitTransaction(p *pqFile, v []vec, i int, st *fileStats, pos Pos, fn func(Pos, CustomerTransaction) error) error {
	if badRejected(p.cols, v, i, st) {
		return nil
	}
	id, ok := h.transactionRow(v, i, st)
	if !ok {
		return nil
	}
	x := CustomerTransaction{Customer: string(id), TS: time.Unix(0, v[1].i64[i]).UTC(), Amount: v[2].f64[i],
		Product: string(str(&v[3], i)), Category: string(str(&v[5], i))}
	if v[4].i64 != nil && v[4].valid[i] {
		x.Quantity = v[4].i64[i]
	}
	return fn(pos, x)
}
