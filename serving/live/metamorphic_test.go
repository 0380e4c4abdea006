package live_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/serving"
	"github.com/propensity-dev/propensity/serving/live"
	"github.com/propensity-dev/propensity/serving/store"
)

// mrec is one record of the metamorphic model: exactly one of its pointers is set.
type mrec struct {
	kind string
	c    *store.Contact
	e    *store.Event
	x    *store.Transaction
	r    *store.Identity
}

func (m mrec) body(t testing.TB) []byte {
	var v any
	switch {
	case m.c != nil:
		// The contacts route takes attributes as top-level keys; null removes one.
		row := map[string]any{"contact_id": m.c.ContactID}
		if !m.c.CreatedAt.IsZero() {
			row["created_at"] = m.c.CreatedAt
		}
		if m.c.Email != "" {
			row["email"] = m.c.Email
		}
		for k, a := range m.c.Attributes {
			row[k] = a
		}
		v = row
	case m.e != nil:
		v = m.e
	case m.x != nil:
		v = m.x
	default:
		v = m.r
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ids lists the identifiers a record carries; the store links them all.
func (m mrec) ids() []string {
	var out []string
	add := func(ids ...string) {
		for _, id := range ids {
			if id != "" {
				out = append(out, id)
			}
		}
	}
	switch {
	case m.c != nil:
		add(m.c.ContactID, m.c.Email)
	case m.e != nil:
		add(m.e.ContactID, m.e.AnonymousID, m.e.Email)
	case m.x != nil:
		add(m.x.ContactID)
	default:
		add(m.r.IDA, m.r.IDB)
	}
	return out
}

// genHistory generates a small history over n people: contacts (most with created_at,
// half with an email), events that link anonymous ids to emails or contact ids,
// transactions, identity rows, and a few links across people so that people merge.
func genHistory(rng *rand.Rand, n int) []mrec {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []mrec
	seq := 0
	ts := func() time.Time {
		seq++ // distinct timestamps keep records distinct in content
		return base.Add(time.Duration(rng.IntN(360*24))*time.Hour + time.Duration(seq)*time.Millisecond)
	}
	types := []string{"page_view", "email_open", "email_click", "form_submit"}
	for i := range n {
		cid := fmt.Sprintf("c%02d", i)
		email := ""
		if rng.IntN(2) == 0 {
			email = fmt.Sprintf("p%02d@example.com", i)
		}
		c := &store.Contact{ContactID: cid, Email: email, Attributes: map[string]any{}}
		if rng.IntN(5) > 0 {
			c.CreatedAt = ts()
		}
		if rng.IntN(2) == 0 {
			c.Attributes["occupation"] = []string{"engineer", "student", "nurse"}[rng.IntN(3)]
		}
		if rng.IntN(2) == 0 {
			c.Attributes["seats"] = float64(1 + rng.IntN(9))
		}
		out = append(out, mrec{kind: live.KindContacts, c: c})
		for k := range rng.IntN(3) {
			// An update: another email (the old one stays linked), attributes changed or removed.
			u := &store.Contact{ContactID: cid, Attributes: map[string]any{}}
			if rng.IntN(2) == 0 {
				u.Email = fmt.Sprintf("p%02d_%d@example.com", i, k)
			}
			switch rng.IntN(3) {
			case 0:
				u.Attributes["occupation"] = []string{"engineer", "student"}[rng.IntN(2)]
			case 1:
				u.Attributes["occupation"] = nil
			}
			if rng.IntN(2) == 0 {
				u.Attributes["seats"] = float64(rng.IntN(5))
			}
			out = append(out, mrec{kind: live.KindContacts, c: u})
		}
		anons := []string{fmt.Sprintf("a%02d_0", i), fmt.Sprintf("a%02d_1", i)}
		for k := range 2 + rng.IntN(6) {
			e := &store.Event{TS: ts(), Type: types[rng.IntN(len(types))], AnonymousID: anons[rng.IntN(2)],
				Channel: []string{"", "web", "email"}[rng.IntN(3)]}
			if rng.IntN(3) == 0 {
				e.EventID = fmt.Sprintf("ev%02d_%d", i, k)
			}
			switch rng.IntN(4) {
			case 0:
				e.ContactID = cid
			case 1:
				e.Email = email // may stay anonymous when the contact has no email
			case 2:
				e.AnonymousID, e.ContactID = "", cid
			}
			if rng.IntN(4) == 0 {
				v := float64(rng.IntN(100))
				e.Value = &v
			}
			out = append(out, mrec{kind: live.KindEvents, e: e})
		}
		for range rng.IntN(3) {
			out = append(out, mrec{kind: live.KindTransactions, x: &store.Transaction{ContactID: cid, TS: ts(),
				Amount: float64(1 + rng.IntN(200)), Product: []string{"basic", "pro"}[rng.IntN(2)], Quantity: 1}})
		}
		if rng.IntN(2) == 0 {
			out = append(out, mrec{kind: live.KindIdentities, r: &store.Identity{IDA: anons[1], IDB: cid, TS: ts()}})
		}
		if i > 0 && rng.IntN(6) == 0 { // a second contact of an earlier person: a merge
			out = append(out, mrec{kind: live.KindIdentities,
				r: &store.Identity{IDA: cid, IDB: fmt.Sprintf("c%02d", rng.IntN(i))}})
		}
	}
	return out
}

// model is the metamorphic model: the set of records present, keyed by their JSON body;
// contacts as their merged rows (as store.PutContact documents: the fields an update sets
// replace the stored ones, a null attribute removes one), and the links to old emails that
// updates retain.
type model struct {
	present  map[string]mrec
	order    []string // every key ever added, once, in first-insertion order
	seen     map[string]bool
	contacts map[string]*store.Contact
	corder   []string           // contact ids, in first-insertion order
	links    map[[2]string]bool // retained links: contact id, old email
	lorder   [][2]string        // retained links, in first-insertion order
}

// addContact applies a contact record; it reports whether the record changed nothing.
func (m *model) addContact(c *store.Contact) (dup bool) {
	old, ok := m.contacts[c.ContactID]
	if !ok {
		n := &store.Contact{ContactID: c.ContactID, CreatedAt: c.CreatedAt, Email: c.Email, Attributes: map[string]any{}}
		for k, a := range c.Attributes {
			if a != nil {
				n.Attributes[k] = a
			}
		}
		m.contacts[c.ContactID] = n
		m.corder = append(m.corder, c.ContactID)
		return false
	}
	n := *old
	n.Attributes = maps.Clone(old.Attributes)
	if !c.CreatedAt.IsZero() {
		n.CreatedAt = c.CreatedAt
	}
	if c.Email != "" {
		n.Email = c.Email
	}
	for k, a := range c.Attributes {
		if a == nil {
			delete(n.Attributes, k)
		} else {
			n.Attributes[k] = a
		}
	}
	if reflect.DeepEqual(&n, old) {
		return true
	}
	if old.Email != "" && n.Email != old.Email {
		l := [2]string{c.ContactID, old.Email}
		if !m.links[l] {
			m.links[l] = true
			m.lorder = append(m.lorder, l)
		}
	}
	m.contacts[c.ContactID] = &n
	return false
}

func (m *model) add(k string, r mrec) {
	if !m.seen[k] {
		m.seen[k] = true
		m.order = append(m.order, k)
	}
	m.present[k] = r
}

// component returns the identifiers linked to id by the present records.
func (m *model) component(id string) map[string]bool {
	comp := map[string]bool{id: true}
	for grew := true; grew; {
		grew = false
		for _, ids := range m.idGroups() {
			if slices.ContainsFunc(ids, func(s string) bool { return comp[s] }) {
				for _, s := range ids {
					if !comp[s] {
						comp[s], grew = true, true
					}
				}
			}
		}
	}
	return comp
}

// idGroups lists the identifiers each present record links (contacts by their merged row,
// and the retained links).
func (m *model) idGroups() [][]string {
	var out [][]string
	for _, k := range m.order {
		if r, ok := m.present[k]; ok && r.c == nil {
			out = append(out, r.ids())
		}
	}
	for _, id := range m.corder {
		if c, ok := m.contacts[id]; ok {
			out = append(out, mrec{c: c}.ids())
		}
	}
	for _, l := range m.lorder {
		if m.links[l] {
			out = append(out, l[:])
		}
	}
	return out
}

// erase removes every present record carrying an identifier of id's person, as
// store.Erase documents, and counts what it removed.
func (m *model) erase(id string) (store.Erased, map[string]bool) {
	comp := m.component(id)
	var out store.Erased
	for cid := range m.contacts {
		if comp[cid] {
			out.Contacts++
			delete(m.contacts, cid)
		}
	}
	for l := range m.links {
		if comp[l[0]] {
			out.Identities++
			delete(m.links, l)
		}
	}
	for _, k := range m.order {
		r, ok := m.present[k]
		if !ok || !slices.ContainsFunc(r.ids(), func(s string) bool { return comp[s] }) {
			continue
		}
		switch {
		case r.c != nil:
			// counted above
		case r.e != nil:
			out.Events++
		case r.x != nil:
			out.Transactions++
		default:
			out.Identities++
		}
		delete(m.present, k)
	}
	out.IDs = len(comp)
	return out, comp
}

func (m *model) ids() []string {
	var out []string
	for _, ids := range m.idGroups() {
		out = append(out, ids...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Parquet rows of the model's history directory (docs/contract.md §1 layout, default names).
type (
	mContactRow struct {
		ContactID  string   `parquet:"contact_id"`
		CreatedAt  *int64   `parquet:"created_at,optional,timestamp(nanosecond)"`
		Email      string   `parquet:"email,optional"`
		Occupation *string  `parquet:"occupation,optional"`
		Seats      *float64 `parquet:"seats,optional"`
	}
	mEventRow struct {
		TS          int64    `parquet:"ts,timestamp(nanosecond)"`
		Type        string   `parquet:"type"`
		ContactID   string   `parquet:"contact_id,optional"`
		AnonymousID string   `parquet:"anonymous_id,optional"`
		Email       string   `parquet:"email,optional"`
		Page        string   `parquet:"page,optional"`
		Channel     string   `parquet:"channel,optional"`
		Campaign    string   `parquet:"campaign,optional"`
		Value       *float64 `parquet:"value,optional"`
	}
	mTxRow struct {
		ContactID string  `parquet:"contact_id"`
		TS        int64   `parquet:"ts,timestamp(nanosecond)"`
		Amount    float64 `parquet:"amount"`
		Product   string  `parquet:"product,optional"`
		Category  string  `parquet:"category,optional"`
		Quantity  int64   `parquet:"quantity"`
	}
	mIdentityRow struct {
		IDA string `parquet:"id_a"`
		IDB string `parquet:"id_b"`
		TS  *int64 `parquet:"ts,optional,timestamp(nanosecond)"`
	}
)

func writeRows[T any](t testing.TB, path string, rows []T) {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// write writes the model's present records as a history directory.
func (m *model) write(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var cs []mContactRow
	var es []mEventRow
	var xs []mTxRow
	var rs []mIdentityRow
	for _, k := range m.order {
		r, ok := m.present[k]
		if !ok {
			continue
		}
		switch {
		case r.c != nil:
			// written from the merged rows below
		case r.e != nil:
			es = append(es, mEventRow{TS: r.e.TS.UnixNano(), Type: r.e.Type, ContactID: r.e.ContactID,
				AnonymousID: r.e.AnonymousID, Email: r.e.Email, Page: r.e.Page, Channel: r.e.Channel,
				Campaign: r.e.Campaign, Value: r.e.Value})
		case r.x != nil:
			xs = append(xs, mTxRow{ContactID: r.x.ContactID, TS: r.x.TS.UnixNano(), Amount: r.x.Amount,
				Product: r.x.Product, Category: r.x.Category, Quantity: r.x.Quantity})
		default:
			row := mIdentityRow{IDA: r.r.IDA, IDB: r.r.IDB}
			if !r.r.TS.IsZero() {
				ns := r.r.TS.UnixNano()
				row.TS = &ns
			}
			rs = append(rs, row)
		}
	}
	for _, id := range m.corder {
		c, ok := m.contacts[id]
		if !ok {
			continue
		}
		row := mContactRow{ContactID: c.ContactID, Email: c.Email}
		if !c.CreatedAt.IsZero() {
			ns := c.CreatedAt.UnixNano()
			row.CreatedAt = &ns
		}
		if o, ok := c.Attributes["occupation"].(string); ok {
			row.Occupation = &o
		}
		if n, ok := c.Attributes["seats"].(float64); ok {
			row.Seats = &n
		}
		cs = append(cs, row)
	}
	for _, l := range m.lorder {
		if m.links[l] {
			rs = append(rs, mIdentityRow{IDA: l[0], IDB: l[1]})
		}
	}
	writeRows(t, filepath.Join(dir, "contacts.parquet"), cs)
	writeRows(t, filepath.Join(dir, "events.parquet"), es)
	writeRows(t, filepath.Join(dir, "transactions.parquet"), xs)
	writeRows(t, filepath.Join(dir, "identities.parquet"), rs)
}

// TestMetamorphic applies, per seed, a random interleaving of ingests (through the HTTP
// handlers' Ingest), re-sent records and erasures to a live store, and keeps a model of the
// records that remain. The store must then equal a batch replay of the model's records:
// the export's feature table equals the model history's cell by cell, every remaining
// person scores by id as batch scoring does, and erased identifiers are unknown.
func TestMetamorphic(t *testing.T) {
	seeds := 12
	if testing.Short() {
		seeds = 4
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { runMetamorphic(t, seed) })
	}
}

func runMetamorphic(t *testing.T, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 0x6d657461))
	recs := genHistory(rng, 20+rng.IntN(20))
	rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })

	set := rulesSet(t)
	h := newHarness(t, set, live.Options{}, nil)
	m := &model{present: map[string]mrec{}, seen: map[string]bool{}, contacts: map[string]*store.Contact{},
		links: map[[2]string]bool{}}
	erased := map[string]bool{}
	var sent []mrec
	var log []string // the operation sequence, for failure messages

	ingest := func(r mrec) {
		b := r.body(t)
		k := r.kind + string(b)
		_, present := m.present[k]
		if r.c != nil {
			present = m.addContact(r.c)
		}
		log = append(log, fmt.Sprintf("ingest %s %s", r.kind, b))
		res, err := h.svc.Ingest(ctx, r.kind, b)
		if err != nil {
			t.Fatalf("%s\ningest: %v", log, err)
		}
		if present && res.Duplicates != 1 || !present && res.Accepted != 1 {
			t.Fatalf("ops:\n%q\npresent=%v, result %+v", log, present, res)
		}
		if r.c == nil {
			m.add(k, r)
		}
		for _, id := range r.ids() {
			delete(erased, id)
		}
	}
	for _, r := range recs {
		ingest(r)
		sent = append(sent, r)
		if rng.IntN(10) == 0 {
			ingest(sent[rng.IntN(len(sent))])
		}
		if rng.IntN(25) == 0 {
			ids := m.ids()
			id := ids[rng.IntN(len(ids))]
			log = append(log, "erase "+id)
			want, comp := m.erase(id)
			got, err := h.svc.Erase(id)
			if err != nil {
				t.Fatalf("ops:\n%q\nerase %s: %v", log, id, err)
			}
			got.Person, got.Deliveries = "", 0
			if got != want {
				t.Fatalf("ops:\n%q\nerase %s removed %+v, the model %+v", log, id, got, want)
			}
			for s := range comp {
				erased[s] = true
			}
		}
	}

	asOf := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	modelDir := filepath.Join(t.TempDir(), "model")
	m.write(t, modelDir)
	exportDir := filepath.Join(t.TempDir(), "export")
	if _, err := live.Export(ctx, h.st, exportDir); err != nil {
		t.Fatal(err)
	}
	compareFeatureTables(t, modelDir, exportDir, features.Options{AsOf: asOf, Horizon: 90 * 24 * time.Hour})

	scorer := serving.NewScorer(serving.Static{Set: set}, nil)
	people := 0
	_, err := history.ForEachPerson(ctx, modelDir, features.Options{AsOf: asOf}, func(p *history.Person) error {
		people++
		prof := p.Profile(asOf)
		want, err := scorer.ScoreWith(ctx, set, &prof, serving.Options{})
		if err != nil {
			return err
		}
		got, err := h.svc.Score(ctx, p.ContactID, asOf, serving.Options{})
		if err != nil {
			return fmt.Errorf("score of %s: %w", p.ContactID, err)
		}
		wb, _ := json.Marshal(want)
		gb, _ := json.Marshal(got)
		if !bytes.Equal(wb, gb) {
			return fmt.Errorf("score of %s by id:\n%s\nbatch:\n%s", p.ContactID, gb, wb)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ops:\n%q\n%v", log, err)
	}
	if people == 0 {
		t.Fatal("no person left to compare")
	}
	for id := range erased {
		if _, err := h.svc.Score(ctx, id, asOf, serving.Options{}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ops:\n%q\nerased id %s scores: %v, want store.ErrNotFound", log, id, err)
		}
	}
}
