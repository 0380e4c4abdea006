package features

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ForEachPerson calls fn, in contact_id order, for every stitched person of the history
// directory dir with their raw history: the events (of any time) and transactions of every
// identifier linked to them. Unlike Build, memory grows with the number of events. fn's
// Person is valid only during the call. An error from fn stops the walk and is returned.
func ForEachPerson(ctx context.Context, dir string, opts Options, fn func(*Person) error) (Report, error) {
	var rep Report
	opts, err := opts.withDefaults()
	if err != nil {
		return rep, err
	}
	if err := opts.validate(); err != nil {
		return rep, err
	}
	h := newHistory(dir, opts, &rep)
	if err := h.stitch(ctx); err != nil {
		return rep, err
	}
	nP := len(h.pContact)
	evs := make([][]Event, nP)
	// Event strings repeat (a few types, pages, channels and campaigns; each person's ids):
	// interning them saves an allocation per string per event, most of this walk's cost.
	in := interner{}
	err = h.streamEvents(ctx, func(r *eventRow) {
		v, i := r.v, r.i
		e := Event{TS: time.Unix(0, r.ts).UTC(), Type: in.get(v[4].str[i]), Page: in.get(str(&v[5], i)),
			Channel: in.get(str(&v[7], i)), Campaign: in.get(str(&v[8], i)),
			AnonymousID: in.get(str(&v[1], i)), Email: in.get(str(&v[2], i)), Value: math.NaN()}
		if v[6].f64 != nil && v[6].valid[i] {
			e.Value = v[6].f64[i]
		}
		evs[r.person] = append(evs[r.person], e)
	})
	if err != nil {
		return rep, err
	}
	keys, pr := &products{ids: map[string]int32{}}, &products{ids: map[string]int32{}}
	txs, err := h.readTransactions(ctx, keys, pr)
	if err != nil {
		return rep, err
	}
	cm := opts.Mapping.Contacts
	t := 0
	for p := range nP {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		c := h.pContact[p]
		attrs := map[string]any{}
		if h.cCreated[c] != noTS {
			attrs[cm.CreatedAt] = time.Unix(0, h.cCreated[c]).UTC()
		}
		if h.cStage[c] != "" {
			attrs[cm.Stage] = h.cStage[c]
		}
		if h.cStageSince[c] != noTS {
			attrs[cm.StageSince] = time.Unix(0, h.cStageSince[c]).UTC()
		}
		for a, at := range h.opts.Attributes {
			if at.Categorical {
				if s := h.attrStr[a][c]; s != "" {
					attrs[at.Name] = s
				}
			} else if x := h.attrNum[a][c]; !math.IsNaN(x) {
				attrs[at.Name] = x
			}
		}
		person := &Person{ContactID: h.cID[c], MergedIDs: h.pMerged[p], Attributes: attrs, Events: evs[p]}
		for ; t < len(txs) && txs[t].person == int32(p); t++ {
			x := txs[t]
			prod, cat := "", ""
			if x.prod >= 0 {
				prod = pr.names[x.prod]
			}
			if x.key >= 0 {
				cat = keys.names[x.key]
			}
			if cat == prod {
				cat = ""
			}
			person.Transactions = append(person.Transactions, Transaction{TS: time.Unix(0, x.ts).UTC(), Amount: x.amount, Product: prod, Category: cat, Quantity: x.qty})
		}
		if err := fn(person); err != nil {
			return rep, err
		}
		evs[p] = nil
	}
	return rep, nil
}

// interner returns one shared string per distinct byte sequence.
type interner map[string]string

func (in interner) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := in[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	in[s] = s
	return s
}

// ReadTransactions reads a transactions file — Parquet (a file or a directory of part files),
// or CSV when the name ends in .csv (comma, semicolon or tab separated, with a header) — with
// the columns named by m (empty names: CONTRACT §1 defaults). Rows without a customer, time or
// finite amount are counted in the report, not returned. Integer customer ids are read as
// strings; a date column gives midnight UTC.
func ReadTransactions(path string, m TransactionColumns) ([]CustomerTransaction, Report, error) {
	m = Mapping{Transactions: m}.WithDefaults().Transactions
	var rep Report
	if strings.HasSuffix(strings.ToLower(path), ".csv") {
		return readTransactionsCSV(path, m)
	}
	h := &history{dir: filepath.Dir(path), rep: &rep}
	specs := transactionSpecs(m)
	var out []CustomerTransaction
	err := h.scan(context.Background(), filepath.Base(path), true, nil, specs, func(p *pqFile, st *fileStats, v []vec, n int) error {
		rep.Transactions += int64(n)
		for i := range n {
			id := str(&v[0], i)
			switch {
			case len(id) == 0:
				st.bad("null " + m.ContactID)
				continue
			case !v[1].valid[i]:
				st.bad("null " + m.TS)
				continue
			case !v[2].valid[i] || math.IsNaN(v[2].f64[i]) || math.IsInf(v[2].f64[i], 0):
				st.bad("null or NaN " + m.Amount)
				continue
			}
			t := CustomerTransaction{Customer: string(id), TS: time.Unix(0, v[1].i64[i]).UTC(), Amount: v[2].f64[i], Product: string(str(&v[3], i)), Category: string(str(&v[5], i))}
			if v[4].i64 != nil && v[4].valid[i] {
				t.Quantity = v[4].i64[i]
			}
			out = append(out, t)
		}
		return nil
	})
	if err != nil {
		return nil, rep, err
	}
	return out, rep, nil
}

func readTransactionsCSV(path string, m TransactionColumns) ([]CustomerTransaction, Report, error) {
	var rep Report
	f, err := os.Open(path)
	if err != nil {
		return nil, rep, &FileError{File: path, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
	}
	defer f.Close()
	// detect the separator from the header line
	head := make([]byte, 4096)
	k, _ := io.ReadFull(f, head)
	line := string(head[:k])
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	sep := ','
	best := strings.Count(line, ",")
	for _, c := range []rune{';', '\t'} {
		if n := strings.Count(line, string(c)); n > best {
			sep, best = c, n
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, rep, &FileError{File: path, Err: err}
	}
	r := csv.NewReader(f)
	r.Comma = sep
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return nil, rep, &FileError{File: path, Err: fmt.Errorf("%w: reading header: %v", ErrUnreadable, err)}
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	idx := func(name string, required bool) (int, error) {
		i, ok := col[name]
		if !ok && required {
			return -1, &ColumnError{File: path, Column: name, Expected: "a CSV column", Err: ErrMissingColumn}
		}
		if !ok {
			return -1, nil
		}
		return i, nil
	}
	ci, err1 := idx(m.ContactID, true)
	ti, err2 := idx(m.TS, true)
	ai, err3 := idx(m.Amount, true)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, rep, err
	}
	pi, _ := idx(m.Product, false)
	ki, _ := idx(m.Category, false)
	qi, _ := idx(m.Quantity, false)
	st := &fileStats{FileReport{File: path}}
	var out []CustomerTransaction
	get := func(rec []string, i int) string {
		if i < 0 || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, rep, &FileError{File: path, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
		}
		st.Rows++
		id := get(rec, ci)
		if id == "" {
			st.bad("null " + m.ContactID)
			continue
		}
		ts, err := parseCSVTime(get(rec, ti))
		if err != nil {
			st.bad("bad " + m.TS)
			continue
		}
		a, err := strconv.ParseFloat(get(rec, ai), 64)
		if err != nil || math.IsNaN(a) || math.IsInf(a, 0) {
			st.bad("null or NaN " + m.Amount)
			continue
		}
		t := CustomerTransaction{Customer: id, TS: ts, Amount: a, Product: get(rec, pi), Category: get(rec, ki)}
		if q, err := strconv.ParseInt(get(rec, qi), 10, 64); err == nil {
			t.Quantity = q
		}
		out = append(out, t)
	}
	rep.Transactions = st.Rows
	rep.Files = append(rep.Files, st.FileReport)
	for _, n := range st.Bad {
		rep.BadRows += n
	}
	return out, rep, nil
}

// parseCSVTime accepts RFC 3339, YYYY-MM-DD, "YYYY-MM-DD HH:MM:SS" and YYYYMMDD (CDNOW).
func parseCSVTime(s string) (time.Time, error) {
	if t, err := parseTime(s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "20060102"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time", s)
}
