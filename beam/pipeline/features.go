// Package pipeline builds propensity's feature and batch-score jobs as Apache Beam pipelines:
// the same row computation and scoring code as the embedded commands, split across workers.
// See docs/scale-out.md.
package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
)

func typeOf[T any]() reflect.Type { return reflect.TypeOf((*T)(nil)).Elem() }

func init() {
	beam.RegisterCoder(typeOf[*features.EventAcc](), encodeAcc, decodeAcc)
	for _, t := range []reflect.Type{typeOf[history.Split](), typeOf[history.SplitContact](),
		typeOf[txRec](), typeOf[personRec](), typeOf[pickAcc](), typeOf[Row](),
		typeOf[readContactsFn](), typeOf[readIdentitiesFn](), typeOf[readEventsFn](), typeOf[readTransactionsFn](),
		typeOf[pickCombine](), typeOf[joinPersonFn](), typeOf[rowFn](), typeOf[shardFn](),
		typeOf[writeFeaturesFn](), typeOf[idToPersonFn]()} {
		beam.RegisterType(t)
	}
	beam.RegisterFunction(contactKV)
	beam.RegisterFunction(firstContact)
	beam.RegisterFunction(contactEdge)
	beam.RegisterFunction(contactByLabel)
	beam.RegisterFunction(mergeAcc)
	beam.RegisterFunction(txCategory)
	beam.RegisterFunction(topCategories)
	beam.RegisterFunction(personKV)
	beam.RegisterFunction(noTx)
	beam.RegisterFunction(noEvents)
	beam.RegisterFunction(noRaw)
	beam.RegisterFunction(toCatCount)
	beam.RegisterType(typeOf[catList]())
	beam.RegisterType(typeOf[catCount]())
}

// encodeOpts carries options to the workers as JSON in a DoFn's field (a field of a function
// type, such as KeepEvent, cannot travel: the workers that need one rebuild it).
func encodeOpts(o features.Options) string {
	b, err := json.Marshal(o)
	if err != nil {
		panic(fmt.Sprintf("features options do not encode: %v", err)) // plain data: cannot happen
	}
	return string(b)
}

func decodeOpts(s string) (features.Options, error) {
	var o features.Options
	err := json.Unmarshal([]byte(s), &o)
	return o, err
}

func encodeAcc(a *features.EventAcc) ([]byte, error) { return a.MarshalBinary() }

func decodeAcc(b []byte) (*features.EventAcc, error) {
	a := new(features.EventAcc)
	return a, a.UnmarshalBinary(b)
}

// Config is what both jobs read: the history and how to read it.
type Config struct {
	Dir  string
	Opts features.Options // AsOf required; Attributes nil: found in the contacts file
	// StitchRounds is the number of large-star / small-star alternations (default 12).
	StitchRounds int
	// Shards is the number of output files (default 4).
	Shards int
	Out    string // output directory: part-NNNNN-of-MMMMM.parquet
}

// prepare checks c and lists what the launcher must know before the pipeline has a shape:
// the options with defaults and attributes, and the splits of each history file.
func (c *Config) prepare(ctx context.Context) (features.Options, [4][]history.Split, error) {
	var splits [4][]history.Split
	opts := c.Opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return opts, splits, err
	}
	if c.StitchRounds <= 0 {
		c.StitchRounds = 12
	}
	if c.Shards <= 0 {
		c.Shards = 4
	}
	for k := history.Contacts; k <= history.Transactions; k++ {
		var s []history.Split
		var err error
		if Remote(c.Dir) {
			s, err = remoteSplits(ctx, c.Dir, opts, k)
		} else {
			s, err = history.Splits(c.Dir, opts, k)
		}
		if err != nil {
			return opts, splits, err
		}
		splits[k] = s
	}
	if opts.Attributes == nil {
		attrs, err := contactAttributes(ctx, c.Dir, opts, splits[history.Contacts][0].File)
		if err != nil {
			return opts, splits, err
		}
		opts.Attributes = attrs
	}
	return opts, splits, nil
}

// txRec is one transaction of a customer, with its place in the file (ties at equal times
// keep file order, as in Build).
type txRec struct {
	Pos      history.Pos
	TS       int64
	Amount   float64
	Product  string
	Key      string // category, else product: spend per category and the preferred category
	Quantity int64
}

// personRec is a stitched person: the surviving contact and the ids of the others.
type personRec struct {
	Contact history.SplitContact
	Merged  []string
}

// Row is one person's feature row as it travels to the writer.
type Row struct {
	ContactID string
	MergedIDs []string
	Nums      []float64
	Strs      []string
}

// stages are the parts of the feature pipeline the score pipeline reuses.
type stages struct {
	persons    beam.PCollection // KV<contact id, personRec>
	idToPerson beam.PCollection // KV<identifier, person contact id>
	accs       beam.PCollection // KV<person contact id, *features.EventAcc>
	txs        beam.PCollection // KV<person contact id, txRec>
	events     beam.PCollection // KV<person contact id, rawEvent> (score only; else zero)
	cats       beam.PCollection // []string, singleton: the product categories used
}

// readContactsFn reads a contacts split.
type readContactsFn struct {
	Opts string // features.Options as JSON
	opts features.Options
}

func (f *readContactsFn) Setup() (err error) { f.opts, err = decodeOpts(f.Opts); return err }

func (f *readContactsFn) ProcessElement(ctx context.Context, s history.Split, emit func(history.SplitContact)) error {
	return readSplit(ctx, s, f.opts, f.opts.Attributes, history.SplitVisitor{Contact: func(c *history.SplitContact) error {
		emit(*c)
		return nil
	}})
}

type readIdentitiesFn struct {
	Opts string // features.Options as JSON
	opts features.Options
}

func (f *readIdentitiesFn) Setup() (err error) { f.opts, err = decodeOpts(f.Opts); return err }

func (f *readIdentitiesFn) ProcessElement(ctx context.Context, s history.Split, emit func(string, string)) error {
	return readSplit(ctx, s, f.opts, nil, history.SplitVisitor{Identity: func(a, b string) error {
		emit(a, b)
		return nil
	}})
}

// readEventsFn reads an events split: the links between identifiers, the events before T
// keyed by the identifier they are attributed to, and with Raw every usable event the
// scorecards read (KeepEvent), for the score job.
type readEventsFn struct {
	Opts      string // features.Options as JSON
	opts      features.Options
	Raw       bool
	Scorecard string // scorecard path ("" embedded), for KeepEvent (Raw only)
	keep      func(typ, page string) bool
}

func (f *readEventsFn) Setup() error {
	var err error
	if f.opts, err = decodeOpts(f.Opts); err != nil || !f.Raw {
		return err
	}
	set, err := LoadScorecards(f.Scorecard)
	if err != nil {
		return err
	}
	f.keep = set.Needs
	return nil
}

// splitBuffer is the most identifiers whose partial accumulators (or links) an events reader
// holds before it hands them on: about 16 MB of event state per reader.
const splitBuffer = 1 << 14

// ProcessElement folds the split's events into one partial accumulator per identifier, and
// its links into distinct pairs, before they leave the worker: the first combining step,
// done where the rows are read. The buffers are bounded (splitBuffer).
func (f *readEventsFn) ProcessElement(ctx context.Context, s history.Split, links func(string, string), evs func(string, *features.EventAcc), raw func(string, rawEvent)) error {
	asOf := features.Nanos(f.opts.AsOf)
	hl := float64(f.opts.HalfLife)
	accs := map[string]*features.EventAcc{}
	pairs := map[[2]string]bool{}
	flush := func() {
		for k, a := range accs {
			evs(k, a)
		}
		for pr := range pairs {
			links(pr[0], pr[1])
		}
		clear(accs)
		clear(pairs)
	}
	err := readSplit(ctx, s, f.opts, nil, history.SplitVisitor{Event: func(e *history.SplitEvent) error {
		for _, id := range e.Links[min(1, len(e.Links)):] {
			pairs[[2]string{e.Links[0], id}] = true
		}
		if e.Key != "" {
			if ts := features.Nanos(e.Event.TS); ts < asOf {
				a := accs[e.Key]
				if a == nil {
					a = new(features.EventAcc)
					a.Reset()
					accs[e.Key] = a
				}
				a.Add(features.AgeNanos(asOf, ts), ts, features.TypeCode([]byte(e.Event.Type)),
					features.PageCategory([]byte(e.Event.Page)), e.Event.Value, hl)
			}
			if f.Raw && f.keep(e.Event.Type, e.Event.Page) {
				raw(e.Key, newRawEvent(e))
			}
		}
		if len(accs) >= splitBuffer || len(pairs) >= splitBuffer {
			flush()
		}
		return nil
	}})
	if err != nil {
		return err
	}
	flush()
	return nil
}

type readTransactionsFn struct {
	Opts string // features.Options as JSON
	opts features.Options
}

func (f *readTransactionsFn) Setup() (err error) { f.opts, err = decodeOpts(f.Opts); return err }

func (f *readTransactionsFn) ProcessElement(ctx context.Context, s history.Split, emit func(string, txRec)) error {
	return readSplit(ctx, s, f.opts, nil, history.SplitVisitor{Transaction: func(p history.Pos, x history.CustomerTransaction) error {
		key := x.Category
		if key == "" {
			key = x.Product
		}
		emit(x.Customer, txRec{Pos: p, TS: features.Nanos(x.TS), Amount: x.Amount, Product: x.Product, Key: key, Quantity: x.Quantity})
		return nil
	}})
}

func contactKV(c history.SplitContact) (string, history.SplitContact) { return c.Contact.ID, c }

// firstContact keeps the first row of a contact id in file order, as Build does.
func firstContact(a, b history.SplitContact) history.SplitContact {
	if b.Pos.Less(a.Pos) {
		return b
	}
	return a
}

// contactEdge links a contact to its e-mail.
func contactEdge(id string, c history.SplitContact, emit func(string, string)) {
	if c.Email != "" {
		emit(id, c.Email)
	}
}

// contactByLabel keys each contact by its component's label (its own id when it has no link).
func contactByLabel(id string, contacts func(*history.SplitContact) bool, labels func(*string) bool, emit func(string, history.SplitContact)) {
	var c history.SplitContact
	if !contacts(&c) {
		return
	}
	label := id
	labels(&label)
	emit(label, c)
}

// pickAcc collects a component's contacts: the survivor so far and every contact id.
type pickAcc struct {
	Best history.SplitContact
	Has  bool
	IDs  []string
}

// pickCombine picks each component's surviving contact: the earliest created_at (unknown
// last), then the smallest id, as Build's resolve does.
type pickCombine struct{}

func better(a, b *features.ContactInfo) bool {
	if a.Created != b.Created {
		if a.Created == features.NoTS {
			return false
		}
		if b.Created == features.NoTS {
			return true
		}
		return a.Created < b.Created
	}
	return a.ID < b.ID
}

func (pickCombine) CreateAccumulator() pickAcc { return pickAcc{} }

func (pickCombine) AddInput(a pickAcc, c history.SplitContact) pickAcc {
	return pickCombine{}.MergeAccumulators(a, pickAcc{Best: c, Has: true, IDs: []string{c.Contact.ID}})
}

func (pickCombine) MergeAccumulators(a, b pickAcc) pickAcc {
	if !a.Has || (b.Has && better(&b.Best.Contact, &a.Best.Contact)) {
		a.Best, a.Has = b.Best, b.Has
	}
	a.IDs = append(a.IDs, b.IDs...)
	return a
}

func (pickCombine) ExtractOutput(a pickAcc) personRec {
	var merged []string
	for _, id := range a.IDs {
		if id != a.Best.Contact.ID {
			merged = append(merged, id)
		}
	}
	slices.Sort(merged)
	return personRec{Contact: a.Best, Merged: merged}
}

// idToPersonFn maps every identifier of a component that has a contact to the person.
type idToPersonFn struct{}

func (idToPersonFn) ProcessElement(label string, nodes func(*string) bool, persons func(*personRec) bool, ids func(string, string), people func(string, personRec)) {
	var p personRec
	if !persons(&p) {
		return // a component without contacts: its events are unattributed
	}
	id := p.Contact.Contact.ID
	people(id, p)
	n, any := "", false
	for nodes(&n) {
		ids(n, id)
		any = true
	}
	if !any { // a contact without links
		ids(label, id)
	}
}

func mergeAcc(a, b *features.EventAcc) *features.EventAcc {
	a.Merge(b)
	return a
}

// joinPersonFn re-keys values keyed by identifier to the identifier's person, dropping those
// of identifiers no person has (unattributed).
type joinPersonFn struct {
	Kind string // "events", "transactions", "raw": counter names only
}

func (f *joinPersonFn) ProcessElement(ctx context.Context, id string, persons func(*string) bool, vals func(*beam.T) bool, emit func(string, beam.T)) {
	var p string
	if !persons(&p) {
		var v beam.T
		for vals(&v) {
			beam.NewCounter("propensity", "unattributed_"+f.Kind).Inc(ctx, 1)
		}
		return
	}
	var v beam.T
	for vals(&v) {
		emit(p, v)
	}
}

func txCategory(_ string, t txRec, emit func(string, int)) {
	if t.Key != "" {
		emit(t.Key, 1)
	}
}

// topCategories picks the product categories as Products.TopCategories does: the most used
// (up to features.MaxProductCategories, ties by name), sorted by name.
func topCategories(counts []catCount) []string {
	sort.Slice(counts, func(a, b int) bool {
		if counts[a].N != counts[b].N {
			return counts[a].N > counts[b].N
		}
		return counts[a].Name < counts[b].Name
	})
	out := []string{}
	for _, c := range counts[:min(len(counts), features.MaxProductCategories)] {
		out = append(out, c.Name)
	}
	sort.Strings(out)
	return out
}

type catCount struct {
	Name string
	N    int
}

func personKV(id string, p personRec) (string, personRec) { return id, p }

// rowFn computes a person's feature row with the embedded RowFiller.
type rowFn struct {
	Opts  string // features.Options as JSON, with attributes; categories from the side input
	opts  features.Options
	Attrs []int // where opts.Attributes are among the contact's values; nil: in place
	rf    *features.RowFiller
	num   []float64
	str   []string
	row   features.Row
	key   string
}

func (f *rowFn) Setup() (err error) { f.opts, err = decodeOpts(f.Opts); return err }

func (f *rowFn) ProcessElement(id string, persons func(*personRec) bool, accs func(**features.EventAcc) bool, txs func(*txRec) bool, cats []string, emit func(Row)) error {
	var p personRec
	if !persons(&p) {
		return nil // identifiers of no person
	}
	opts := f.opts
	opts.ProductCategories = cats
	if k := strings.Join(cats, "\x00"); f.rf == nil || k != f.key {
		s := features.SchemaFor(opts)
		f.rf, f.row, f.key = features.NewRowFiller(s, opts), features.NewRow(s), k
	}
	var ev features.EventAcc
	ev.Reset()
	var a *features.EventAcc
	for accs(&a) {
		ev.Merge(a)
	}
	list := sortedTx(txs)
	var tx features.TxAcc
	tx.Reset(len(cats))
	prods := features.NewProducts()
	asOf, hEnd := features.Nanos(opts.AsOf), features.Nanos(opts.AsOf.Add(opts.Horizon))
	for _, x := range list {
		code := prods.Code([]byte(x.Key))
		tx.Add(x.TS, asOf, hEnd, x.Amount, slices.Index(cats, x.Key), code)
	}
	c := p.Contact
	num, str := c.AttrNum, c.AttrStr
	if f.Attrs != nil {
		f.num, f.str = f.num[:0], f.str[:0]
		for _, i := range f.Attrs {
			f.num, f.str = append(f.num, num[i]), append(f.str, str[i])
		}
		num, str = f.num, f.str
	}
	f.rf.Fill(&f.row, &c.Contact, &ev, &tx, num, str, func(code int32) string { return prods.Names[code] })
	emit(Row{ContactID: c.Contact.ID, MergedIDs: p.Merged, Nums: slices.Clone(f.row.Nums), Strs: slices.Clone(f.row.Strs)})
	return nil
}

// sortedTx reads a person's transactions in time order, file order at equal times: the
// order Build feeds TxAcc in (its sums are not free of order).
func sortedTx(txs func(*txRec) bool) []txRec {
	var list []txRec
	var t txRec
	for txs(&t) {
		list = append(list, t)
	}
	slices.SortFunc(list, func(a, b txRec) int {
		if a.TS != b.TS {
			return cmpInt(a.TS, b.TS)
		}
		if a.Pos.Less(b.Pos) {
			return -1
		}
		if b.Pos.Less(a.Pos) {
			return 1
		}
		return 0
	})
	return list
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// buildStages assembles the feature pipeline up to what the rows are computed from: read,
// stitch, key by person, combine the events. opts.Attributes are the attributes the contacts
// are read with.
func buildStages(s beam.Scope, opts features.Options, splits [4][]history.Split, rounds int, raw bool, scorecard string) stages {
	var st stages
	contacts := beam.ParDo(s, &readContactsFn{Opts: encodeOpts(opts)}, beam.Reshuffle(s, beam.CreateList(s, splits[history.Contacts])))
	contactsKV := beam.CombinePerKey(s, firstContact, beam.ParDo(s, contactKV, contacts))
	edges := []beam.PCollection{beam.ParDo(s, contactEdge, contactsKV)}
	if len(splits[history.Identities]) > 0 {
		edges = append(edges, beam.ParDo(s, &readIdentitiesFn{Opts: encodeOpts(opts)}, beam.Reshuffle(s, beam.CreateList(s, splits[history.Identities]))))
	}
	var evs, raws beam.PCollection
	if len(splits[history.Events]) > 0 {
		links, e, r := beam.ParDo3(s, &readEventsFn{Opts: encodeOpts(opts), Raw: raw, Scorecard: scorecard},
			beam.Reshuffle(s, beam.CreateList(s, splits[history.Events])))
		edges = append(edges, links)
		evs, raws = e, r
	}
	labels := connectedComponents(s, beam.Flatten(s, edges...), rounds)
	byLabel := beam.ParDo(s, contactByLabel, beam.CoGroupByKey(s, contactsKV, labels))
	picked := beam.CombinePerKey(s, pickCombine{}, byLabel)
	ids, persons := beam.ParDo2(s, idToPersonFn{}, beam.CoGroupByKey(s, beam.SwapKV(s, labels), picked))
	st.persons, st.idToPerson = persons, ids

	if evs.IsValid() {
		accByKey := beam.CombinePerKey(s, mergeAcc, evs)
		st.accs = beam.CombinePerKey(s, mergeAcc, beam.ParDo(s, &joinPersonFn{Kind: "event_keys"}, beam.CoGroupByKey(s, ids, accByKey)))
		if raw {
			st.events = beam.ParDo(s, &joinPersonFn{Kind: "raw_events"}, beam.CoGroupByKey(s, ids, raws))
		}
	} else {
		st.accs = beam.ParDo(s, noEvents, beam.Impulse(s))
	}
	if raw && !st.events.IsValid() {
		st.events = beam.ParDo(s, noRaw, beam.Impulse(s))
	}
	if len(splits[history.Transactions]) > 0 {
		txs := beam.ParDo(s, &readTransactionsFn{Opts: encodeOpts(opts)}, beam.Reshuffle(s, beam.CreateList(s, splits[history.Transactions])))
		st.txs = beam.ParDo(s, &joinPersonFn{Kind: "transactions"}, beam.CoGroupByKey(s, ids, txs))
	} else {
		st.txs = beam.ParDo(s, noTx, beam.Impulse(s))
	}
	if opts.ProductCategories != nil {
		st.cats = beam.Create(s, opts.ProductCategories)
	} else {
		counts := stats.SumPerKey(s, beam.ParDo(s, txCategory, st.txs))
		st.cats = beam.ParDo(s, topCategories, beam.Combine(s, &catList{}, beam.ParDo(s, toCatCount, counts)))
	}
	return st
}

// buildRows computes each person's feature row with opts; attrs picks opts.Attributes out of
// the attributes the contacts were read with (nil: the same list).
func buildRows(s beam.Scope, st stages, opts features.Options, attrs []int) beam.PCollection {
	return beam.ParDo(s, &rowFn{Opts: encodeOpts(opts), Attrs: attrs}, beam.CoGroupByKey(s, st.persons, st.accs, st.txs), beam.SideInput{Input: st.cats})
}

func noRaw([]byte, func(string, rawEvent)) {}

func noTx([]byte, func(string, txRec)) {}

func noEvents([]byte, func(string, *features.EventAcc)) {}

// catList gathers the (category, count) pairs into one list.
type catList struct{}

func (catList) CreateAccumulator() []catCount                { return nil }
func (catList) AddInput(a []catCount, c catCount) []catCount { return append(a, c) }

func toCatCount(k string, n int) catCount                    { return catCount{Name: k, N: n} }
func (catList) MergeAccumulators(a, b []catCount) []catCount { return append(a, b...) }

// Features builds the features job: it writes the feature table of c.Dir, as `propensity
// features` computes it, to c.Shards part files under c.Out.
func Features(c Config) (*beam.Pipeline, error) {
	opts, splits, err := c.prepare(context.Background())
	if err != nil {
		return nil, err
	}
	p, s := beam.NewPipelineWithRoot()
	st := buildStages(s, opts, splits, c.StitchRounds, false, "")
	shards := beam.ParDo(s, &shardFn{N: c.Shards}, buildRows(s, st, opts, nil))
	beam.ParDo0(s, &writeFeaturesFn{Opts: encodeOpts(opts), Out: c.Out, N: c.Shards}, beam.GroupByKey(s, shards), beam.SideInput{Input: st.cats})
	return p, nil
}

// shardFn spreads rows over N shards by a hash of the contact id.
type shardFn struct{ N int }

func (f *shardFn) ProcessElement(r Row) (int, Row) { return shardOf(r.ContactID, f.N), r }

func shardOf(id string, n int) int {
	h := uint32(2166136261) // FNV-1a
	for i := range len(id) {
		h ^= uint32(id[i])
		h *= 16777619
	}
	return int(h % uint32(n))
}

// ShardName is the name of output shard i of n.
func ShardName(i, n int) string { return fmt.Sprintf("part-%05d-of-%05d.parquet", i, n) }

// writeFeaturesFn writes one shard of the feature table, rows in contact_id order, with the
// embedded writer (same schema and metadata as `propensity features`).
type writeFeaturesFn struct {
	Opts string // features.Options as JSON
	opts features.Options
	Out  string
	N    int
}

func (f *writeFeaturesFn) Setup() (err error) { f.opts, err = decodeOpts(f.Opts); return err }

func (f *writeFeaturesFn) ProcessElement(ctx context.Context, shard int, rows func(*Row) bool, cats []string) error {
	opts := f.opts
	opts.ProductCategories = cats
	s := features.SchemaFor(opts)
	var out []features.Row
	var r Row
	for rows(&r) {
		out = append(out, features.Row{Schema: s, Nums: r.Nums, Strs: r.Strs, MergedIDs: r.MergedIDs})
	}
	slices.SortFunc(out, func(a, b features.Row) int { return strings.Compare(a.Strs[0], b.Strs[0]) })
	t, err := history.NewTable(out, opts)
	if err != nil {
		return err
	}
	defer t.Release()
	return writeShard(ctx, f.Out, ShardName(shard, f.N), func(path string) error { return history.WriteParquet(path, t) })
}
