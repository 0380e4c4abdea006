package pipeline

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/propensity-dev/propensity/data"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/models/scorecard"
	"github.com/propensity-dev/propensity/serving"
	"github.com/propensity-dev/propensity/serving/batch"
)

func init() {
	for _, t := range []reflect.Type{typeOf[rawEvent](), typeOf[scoreFn](), typeOf[writeScoresFn]()} {
		beam.RegisterType(t)
	}
	beam.RegisterFunction(rowKV)
	beam.RegisterFunction(noRows)
	// Score rows have optional (pointer) columns: gob carries them as they are.
	beam.RegisterCoder(typeOf[batch.Row](), encodeScore, decodeScore)
}

func encodeScore(r batch.Row) ([]byte, error) {
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode(r)
	return b.Bytes(), err
}

func decodeScore(b []byte) (batch.Row, error) {
	var r batch.Row
	err := gob.NewDecoder(bytes.NewReader(b)).Decode(&r)
	return r, err
}

func noRows([]byte, func(string, Row)) {}

// ErrBadInput marks errors of the score job's inputs (scorecards, models): exit code 2.
var ErrBadInput = errors.New("bad input")

// rawEvent is one event a scorecard reads, with its place in the file: a person's events are
// handed to the scorer in file order, as the embedded walk over people does.
type rawEvent struct {
	Pos                                                   history.Pos
	TS                                                    int64
	Type, Page, Channel, Campaign, AnonymousID, EmailAddr string
	Value                                                 float64
}

func newRawEvent(e *history.SplitEvent) rawEvent {
	v := e.Event
	return rawEvent{Pos: e.Pos, TS: features.Nanos(v.TS), Type: v.Type, Page: v.Page, Channel: v.Channel,
		Campaign: v.Campaign, AnonymousID: v.AnonymousID, EmailAddr: v.Email, Value: v.Value}
}

// LoadScorecards reads a scorecard file or folder, or the embedded default when path is "",
// as `propensity score --scorecard` does.
func LoadScorecards(path string) (*scorecard.Set, error) {
	if path == "" {
		b, err := data.Scorecard(data.DefaultScorecard)
		if err != nil {
			return nil, err
		}
		return scorecard.Parse(b, "embedded:"+data.DefaultScorecard+".yaml")
	}
	set, err := scorecard.Load(path)
	if err != nil {
		return nil, fmt.Errorf("%w: --scorecard: %w", ErrBadInput, err)
	}
	return set, nil
}

// LoadModelSet loads the scorecards and, with a models directory, every artifact in it with
// the service's loader, as `propensity score --models` does.
func LoadModelSet(ctx context.Context, scorecardPath, modelsDir string) (*serving.ModelSet, *scorecard.Set, error) {
	cards, err := LoadScorecards(scorecardPath)
	if err != nil {
		return nil, nil, err
	}
	source := scorecardPath
	if source == "" {
		source = "embedded"
	}
	rules := serving.NewRules(cards, source)
	if modelsDir == "" {
		return &serving.ModelSet{Rules: rules}, cards, nil
	}
	l := serving.NewLoader(modelsDir, nil)
	l.Rules = func() (serving.RulesModel, error) { return rules, nil }
	set, err := l.Load(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: --models %s: %w", ErrBadInput, modelsDir, err)
	}
	return set, cards, nil
}

// ScoreConfig is the score job's configuration.
type ScoreConfig struct {
	Config
	Scorecard string // scorecard file or folder; "" the embedded default
	Models    string // models directory; "" none
}

// needsRows reports whether a model of set reads feature rows.
func needsRows(set *serving.ModelSet) bool {
	return set.Conversion != nil || set.Churn != nil || set.Personas != nil
}

// Score builds the score job: every person of c.Dir scored as `propensity score --data`
// scores them, written to c.Shards part files under c.Out. The scorecards and models are
// loaded here (to check them and learn the models' feature options) and once per worker.
func Score(ctx context.Context, c ScoreConfig) (*beam.Pipeline, error) {
	set, _, err := LoadModelSet(ctx, c.Scorecard, c.Models)
	if err != nil {
		return nil, err
	}
	// The people are read with the attributes found in the contacts file (the scorecards'
	// view); the models' rows with the attributes they were trained on. Contacts are read
	// once with both.
	person := features.Options{AsOf: c.Opts.AsOf}
	c.Opts = person
	opts, splits, err := c.prepare(ctx)
	if err != nil {
		return nil, err
	}
	personAttrs := opts.Attributes
	rowOpts := opts
	rows := needsRows(set)
	if rows {
		fo := set.FeatureOptions
		fo.AsOf, fo.Horizon, fo.KeepEvent = opts.AsOf, 0, nil
		fo = fo.EnsureDefaults()
		if !reflect.DeepEqual(fo.Mapping, opts.Mapping) {
			return nil, fmt.Errorf("%w: the models were trained on a history with its own column mapping (--config): propensity-beam score reads the docs/contract.md §1 columns only", ErrBadInput)
		}
		if fo.Attributes == nil {
			fo.Attributes = personAttrs
		}
		rowOpts = fo
	}
	union, rowIdx, personIdx, err := unionAttributes(rowOpts.Attributes, personAttrs)
	if err != nil {
		return nil, err
	}
	read := rowOpts
	read.Attributes = union
	p, s := beam.NewPipelineWithRoot()
	st := buildStages(s, read, splits, c.StitchRounds, true, c.Scorecard)
	cols := []beam.PCollection{st.persons, st.events, st.txs}
	if rows {
		cols = append(cols, beam.ParDo(s, rowKV, buildRows(s, st, rowOpts, rowIdx)))
	} else {
		cols = append(cols, beam.ParDo(s, noRows, beam.Impulse(s)))
	}
	scored := beam.ParDo(s, &scoreFn{Scorecard: c.Scorecard, Models: c.Models, AsOf: features.Nanos(opts.AsOf), RowOpts: encodeOpts(rowOpts),
		Rows: rows, PersonAttrs: personIdx, Attributes: union, Shards: c.Shards}, beam.CoGroupByKey(s, cols...), beam.SideInput{Input: st.cats})
	beam.ParDo0(s, &writeScoresFn{AsOf: features.Nanos(opts.AsOf), Out: c.Out, N: c.Shards}, beam.GroupByKey(s, scored))
	return p, nil
}

// unionAttributes lists the attributes of a and b once (a's first) and where each list's
// attributes are in it.
func unionAttributes(a, b []features.Attribute) (all []features.Attribute, ai, bi []int, err error) {
	at := map[string]int{}
	add := func(x features.Attribute) (int, error) {
		if i, ok := at[x.Name]; ok {
			if all[i].Categorical != x.Categorical {
				return 0, fmt.Errorf("%w: attribute %q is categorical in one of the models' feature options and not in the contacts file", ErrBadInput, x.Name)
			}
			return i, nil
		}
		at[x.Name] = len(all)
		all = append(all, x)
		return len(all) - 1, nil
	}
	for _, x := range a {
		i, err := add(x)
		if err != nil {
			return nil, nil, nil, err
		}
		ai = append(ai, i)
	}
	for _, x := range b {
		i, err := add(x)
		if err != nil {
			return nil, nil, nil, err
		}
		bi = append(bi, i)
	}
	return all, ai, bi, nil
}

func rowKV(r Row) (string, Row) { return r.ContactID, r }

// scoreFn scores one person with the scorecards and models, loaded once per worker.
type scoreFn struct {
	Scorecard, Models string
	AsOf              int64  // Unix ns
	RowOpts           string // features.Options as JSON
	rowOpts           features.Options
	Rows              bool
	PersonAttrs       []int
	Attributes        []features.Attribute // as the contacts were read
	Shards            int

	set    *serving.ModelSet
	scorer *serving.Scorer
	schema *features.Schema
	key    string
}

func (f *scoreFn) Setup(ctx context.Context) error {
	set, _, err := LoadModelSet(ctx, f.Scorecard, f.Models)
	if err != nil {
		return err
	}
	f.set, f.scorer = set, serving.NewScorer(serving.Static{Set: set}, time.Now)
	f.rowOpts, err = decodeOpts(f.RowOpts)
	return err
}

func (f *scoreFn) ProcessElement(ctx context.Context, id string, persons func(*personRec) bool, events func(*rawEvent) bool,
	txs func(*txRec) bool, rows func(*Row) bool, cats []string, emit func(int, batch.Row)) error {
	var p personRec
	if !persons(&p) {
		return nil
	}
	prof := features.Profile{ContactID: p.Contact.Contact.ID, AsOf: time.Unix(0, f.AsOf).UTC(), Attributes: f.attributes(&p.Contact)}
	var evs []rawEvent
	var e rawEvent
	for events(&e) {
		evs = append(evs, e)
	}
	slices.SortFunc(evs, func(a, b rawEvent) int {
		if a.Pos.Less(b.Pos) {
			return -1
		}
		if b.Pos.Less(a.Pos) {
			return 1
		}
		return 0
	})
	for _, e := range evs {
		prof.Events = append(prof.Events, features.Event{TS: time.Unix(0, e.TS).UTC(), Type: e.Type, Page: e.Page,
			Channel: e.Channel, Campaign: e.Campaign, AnonymousID: e.AnonymousID, Email: e.EmailAddr, Value: e.Value})
	}
	for _, x := range sortedTx(txs) {
		cat := x.Key
		if cat == x.Product {
			cat = ""
		}
		prof.Transactions = append(prof.Transactions, features.Transaction{TS: time.Unix(0, x.TS).UTC(), Amount: x.Amount,
			Product: x.Product, Category: cat, Quantity: x.Quantity})
	}
	var sopts serving.Options
	if f.Rows {
		var r Row
		if !rows(&r) {
			return fmt.Errorf("contact %s: no feature row", id)
		}
		if k := strings.Join(cats, "\x00"); f.schema == nil || k != f.key {
			o := f.rowOpts
			o.ProductCategories = cats
			f.schema, f.key = features.SchemaFor(o), k
		}
		sopts.Row = &features.Row{Schema: f.schema, Nums: r.Nums, Strs: r.Strs, MergedIDs: r.MergedIDs}
	}
	resp, err := f.scorer.ScoreWith(ctx, f.set, &prof, sopts)
	if err != nil {
		return &batch.ContactError{ContactID: id, Err: err}
	}
	emit(shardOf(id, f.Shards), batch.NewRow(resp))
	return nil
}

// attributes returns a contact's attributes as the embedded walk over people gives them.
func (f *scoreFn) attributes(c *history.SplitContact) map[string]any {
	cm := features.Mapping{}.WithDefaults().Contacts
	attrs := make(map[string]any, 4+len(f.PersonAttrs))
	if c.Contact.Created != features.NoTS {
		attrs[cm.CreatedAt] = time.Unix(0, c.Contact.Created).UTC()
	}
	if c.Contact.Stage != "" {
		attrs[cm.Stage] = c.Contact.Stage
	}
	if c.Contact.StageSince != features.NoTS {
		attrs[cm.StageSince] = time.Unix(0, c.Contact.StageSince).UTC()
	}
	if c.Email != "" {
		attrs[cm.Email] = c.Email
	}
	for _, i := range f.PersonAttrs {
		at := f.Attributes[i]
		if at.Categorical {
			if s := c.AttrStr[i]; s != "" {
				attrs[at.Name] = s
			}
		} else if x := c.AttrNum[i]; !math.IsNaN(x) {
			attrs[at.Name] = x
		}
	}
	return attrs
}

// writeScoresFn writes one shard of scores in contact_id order with the embedded writer.
type writeScoresFn struct {
	AsOf int64 // Unix ns
	Out  string
	N    int
}

func (f *writeScoresFn) ProcessElement(ctx context.Context, shard int, rows func(*batch.Row) bool) error {
	var out []batch.Row
	var r batch.Row
	for rows(&r) {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b batch.Row) int { return strings.Compare(a.ContactID, b.ContactID) })
	return writeShard(ctx, f.Out, ShardName(shard, f.N), func(name string) error {
		return writeAtomic(name, func(w *os.File) error {
			pw := batch.NewWriter(w, time.Unix(0, f.AsOf).UTC())
			if _, err := pw.Write(out); err != nil {
				return err
			}
			return pw.Close()
		})
	})
}

// writeAtomic writes path through a temporary file renamed into place.
func writeAtomic(path string, fn func(*os.File) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := fn(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
