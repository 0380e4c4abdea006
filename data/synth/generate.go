package synth

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/snappy"

	"github.com/propensity-dev/propensity/internal/atomicfile"
	"github.com/propensity-dev/propensity/internal/buildinfo"
	"github.com/propensity-dev/propensity/internal/progress"
)

// FormatVersion is the version of the generator.json layout.
const FormatVersion = 1

// Names of the files Generate writes into its directory.
const (
	ContactsFile     = "contacts.parquet"
	EventsFile       = "events.parquet"
	TransactionsFile = "transactions.parquet"
	IdentitiesFile   = "identities.parquet"
	TruthFile        = "truth.parquet"
	GeneratorFile    = "generator.json"
)

// ErrOutput is wrapped when the output directory cannot be used.
var ErrOutput = errors.New("synth: output directory unusable")

// Summary describes a generated history.
type Summary struct {
	Dir             string           `json:"dir"`
	People          int              `json:"people"`
	Contacts        int64            `json:"contacts"` // rows, duplicates included
	Duplicates      int64            `json:"duplicates"`
	Events          int64            `json:"events"`
	EventsByType    map[string]int64 `json:"events_by_type"`
	AnonymousEvents int64            `json:"anonymous_events"`
	Transactions    int64            `json:"transactions"`
	Identities      int64            `json:"identities"`
	PeopleByPersona map[string]int64 `json:"people_by_persona"`
	CustomersAtAsOf int64            `json:"customers_at_as_of"`
	ProspectsAtAsOf int64            `json:"prospects_at_as_of"`
	Converted       int64            `json:"converted"`
	ConversionRate  float64          `json:"conversion_rate"` // converted / prospects in [T, T+H)
	ConversionAUC   float64          `json:"conversion_auc"`  // AUC of true p_convert vs converted; 0 when a class is empty
	Churned         int64            `json:"churned"`
	ChurnRate       float64          `json:"churn_rate"` // churned / customers at T
	ChurnAUC        float64          `json:"churn_auc"`  // AUC of true p_churn vs churned; 0 when a class is empty
	// Campaign counts the simulated campaign's contacts; nil without one.
	Campaign          *CampaignSummary `json:"campaign,omitempty"`
	Seconds           float64          `json:"seconds"`
	EventsPerSecond   float64          `json:"events_per_second"`
	AsOf              time.Time        `json:"as_of"`
	HorizonDays       float64          `json:"horizon_days"`
	ConversionWindows []time.Time      `json:"conversion_window_starts"`
}

// Parameters is the content of generator.json: every parameter used, so that a model's
// estimates can be compared with the truth.
type Parameters struct {
	FormatVersion int `json:"format_version"`
	// Build is the propensity build that wrote the file (propensity version).
	Build       buildinfo.Info `json:"build"`
	Generator   string         `json:"generator"`
	Contacts    int            `json:"contacts"`
	Seed        uint64         `json:"seed"`
	AsOf        time.Time      `json:"as_of"`
	HorizonDays float64        `json:"horizon_days"`
	HistoryDays float64        `json:"history_days"`
	// ConversionWindowStarts are the starts s of the windows [s, s+H) in which prospects
	// convert through Conversion, measured on their behaviour before s.
	ConversionWindowStarts []time.Time     `json:"conversion_window_starts"`
	DuplicateRate          float64         `json:"duplicate_rate"`
	BGNBDTimeUnit          string          `json:"bgnbd_time_unit"`
	Personas               []Persona       `json:"personas"`
	Conversion             ConversionModel `json:"conversion"`
	// Campaign is the randomised campaign's true effect; nil without one.
	Campaign *CampaignModel `json:"campaign,omitempty"`
	Notes    []string       `json:"notes"`
	Summary  *Summary       `json:"summary"`
}

type generator struct {
	o        Options
	personas []Persona
	weights  []float64
	conv     ConversionModel
	campaign *CampaignModel // nil: no campaign
	tab      *tables
	asOf     int64 // T, µs since the epoch
	horizon  int64 // H, µs
	start    int64 // T − History
	end      int64 // T + H: nothing is generated at or after it
	windows  []int64
	// groupRows is the number of rows per row group of the events file.
	groupRows int
}

const chunkSize = 512

// chunk holds the rows of consecutive people, ready to write.
type chunk struct {
	index    int
	contacts []contactRow
	events   []eventRow
	txs      []txRow
	ids      []identityRow
	truth    []truthRow
	ctruth   []campaignTruthRow // instead of truth when a campaign is simulated
	floats   []float64          // backing store of truth's optional probabilities
	people   []person
}

// Generate writes a synthetic history with known ground truth into dir (created if missing):
// contacts.parquet, events.parquet, transactions.parquet, identities.parquet, truth.parquet
// and generator.json. Each file is written atomically. The same options give byte-identical
// files, whatever the number of workers.
func Generate(ctx context.Context, dir string, opts Options) (*Summary, error) {
	return generate(ctx, dir, opts, eventGroupRows)
}

// generate is Generate with groupRows rows per row group of the events file (tests use
// small groups to have many).
func generate(ctx context.Context, dir string, opts Options, groupRows int) (*Summary, error) {
	o := opts.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	began := time.Now()
	g := newGenerator(o)
	g.groupRows = groupRows
	sum := &Summary{Dir: dir, People: o.Contacts, EventsByType: map[string]int64{}, PeopleByPersona: map[string]int64{},
		AsOf: o.AsOf, HorizonDays: o.Horizon.Hours() / 24}
	for _, w := range g.windows {
		sum.ConversionWindows = append(sum.ConversionWindows, time.UnixMicro(w).UTC())
	}
	acc := newAccumulator(g, sum)
	paths := []string{ContactsFile, EventsFile, TransactionsFile, IdentitiesFile, TruthFile}
	err := writeAll(dir, paths, func(ws []io.Writer) error {
		return g.run(ctx, ws, acc)
	})
	if err != nil {
		return nil, err
	}
	acc.finish()
	sum.Seconds = time.Since(began).Seconds()
	if sum.Seconds > 0 {
		sum.EventsPerSecond = float64(sum.Events) / sum.Seconds
	}
	params := g.parameters(sum)
	data, err := json.MarshalIndent(params, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("synth: encoding %s: %w", GeneratorFile, err)
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, GeneratorFile), append(data, '\n'), 0o644); err != nil {
		return nil, err
	}
	return sum, nil
}

func checkDir(dir string) error {
	if dir == "" {
		return fmt.Errorf("%w: empty path", ErrOutput)
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrOutput, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%w: %v", ErrOutput, err)
	}
	f, err := os.CreateTemp(dir, ".synth-probe-*")
	if err != nil {
		return fmt.Errorf("%w: %s is not writable: %v", ErrOutput, dir, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// writeAll opens every path atomically (nested atomicfile.Write calls) and runs fill with a
// buffered writer on each; on error none of them is replaced.
func writeAll(dir string, paths []string, fill func([]io.Writer) error) error {
	ws := make([]io.Writer, len(paths))
	var open func(k int) error
	open = func(k int) error {
		if k == len(paths) {
			return fill(ws)
		}
		return atomicfile.Write(filepath.Join(dir, paths[k]), 0o644, func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 1<<20)
			ws[k] = bw
			if err := open(k + 1); err != nil {
				return err
			}
			return bw.Flush()
		})
	}
	return open(0)
}

func newGenerator(o Options) *generator {
	cat := Catalog()[:o.Personas]
	for i := range cat {
		if o.Purchases != nil {
			cat[i].Purchases = *o.Purchases
		}
		if o.Spend != nil {
			cat[i].Spend = *o.Spend
		}
	}
	g := &generator{o: o, personas: cat, conv: DefaultConversion()}
	for i := range cat {
		g.weights = append(g.weights, cat[i].Weight)
	}
	g.asOf = o.AsOf.UnixMicro()
	g.horizon = o.Horizon.Microseconds()
	g.start = g.asOf - o.History.Microseconds()
	g.end = g.asOf + g.horizon
	for k := o.ConversionWindows - 1; k >= 0; k-- {
		g.windows = append(g.windows, g.asOf-int64(k)*g.horizon)
	}
	g.tab = newTables(g.start, g.end)
	if o.CampaignShare > 0 {
		c := DefaultCampaign(o.CampaignShare)
		g.campaign = &c
	}
	return g
}

func writerOpts() []parquet.WriterOption {
	return []parquet.WriterOption{
		parquet.Compression(&snappy.Codec{}),
		parquet.MaxRowsPerRowGroup(eventGroupRows),
		parquet.CreatedBy("propensity-synth", "1", ""),
		// Min/max bounds of identifier and text columns cost more to compute than they save
		// readers; timestamps and numbers keep theirs.
		parquet.SkipPageBounds("contact_id"), parquet.SkipPageBounds("anonymous_id"),
		parquet.SkipPageBounds("email"), parquet.SkipPageBounds("page"), parquet.SkipPageBounds("campaign"),
	}
}

// run generates chunks on workers and writes them in order.
func (g *generator) run(ctx context.Context, ws []io.Writer, acc *accumulator) error {
	opt := writerOpts()
	wc := parquet.NewGenericWriter[contactRow](ws[0], opt...)
	we := parquet.NewGenericWriter[eventRow](ws[1], opt...)
	wt := parquet.NewGenericWriter[txRow](ws[2], opt...)
	wi := parquet.NewGenericWriter[identityRow](ws[3], opt...)
	var wtr truthWriter
	if g.campaign != nil {
		wtr = parquet.NewGenericWriter[campaignTruthRow](ws[4], opt...)
	} else {
		wtr = parquet.NewGenericWriter[truthRow](ws[4], opt...)
	}

	nChunks := (g.o.Contacts + chunkSize - 1) / chunkSize
	workers := g.o.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, nChunks))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// free bounds the chunks in flight, so memory does not grow with the number of people.
	// The chunks leave it in job order: the feeder takes a free chunk before it hands out the
	// next job, never a worker after receiving one. Otherwise a worker holding job k but no
	// chunk yet (descheduled between the two steps) could find the free list emptied by later
	// jobs, whose chunks the in-order writer keeps until chunk k arrives: a deadlock that a
	// loaded machine hit once.
	inFlight := 2*workers + 2
	free := make(chan *chunk, inFlight)
	for range inFlight {
		free <- &chunk{}
	}
	jobs := make(chan *chunk)
	done := make(chan *chunk, inFlight)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &sim{g: g, src: &splitSource{}}
			s.rng = newRand(s.src)
			for c := range jobs {
				if ctx.Err() != nil {
					return
				}
				g.fill(s, c, c.index)
				select {
				case done <- c:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for idx := range nChunks {
			var c *chunk
			select {
			case c = <-free:
			case <-ctx.Done():
				return
			}
			c.index = idx
			select {
			case jobs <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(done) }()

	// The events file's row groups are encoded by encoders goroutines and committed in
	// order by one (eventgroups.go); the four other files are written by another goroutine.
	// A chunk returns to the free list once that goroutine is done with it: its events are
	// copied into a row group first.
	cols, err := newEventColumns(we.Schema())
	if err != nil {
		return err
	}
	encoders := workers
	groupFree := make(chan *eventGroup, encoders+2)
	for range encoders + 2 {
		groupFree <- &eventGroup{rg: we.BeginRowGroup(), done: make(chan struct{}), size: g.groupRows}
	}
	encCh, commitCh := make(chan *eventGroup, encoders), make(chan *eventGroup, encoders+2)
	restCh := make(chan *chunk, inFlight)
	release := func(c *chunk) { free <- c }
	var werr [2]error
	var wwg sync.WaitGroup
	for range encoders {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			for g := range encCh {
				if ctx.Err() == nil {
					g.err = g.encode(cols)
				}
				close(g.done)
			}
		}()
	}
	wwg.Add(1)
	go func() {
		defer wwg.Done()
		for g := range commitCh {
			<-g.done
			if werr[0] == nil && g.err == nil {
				_, g.err = g.rg.Commit()
			}
			if werr[0] == nil && g.err != nil {
				werr[0] = fmt.Errorf("writing %s: %w", EventsFile, g.err)
				cancel()
			}
			g.reset()
			groupFree <- g
		}
		if werr[0] == nil {
			if err := we.Close(); err != nil {
				werr[0] = fmt.Errorf("closing %s: %w", EventsFile, err)
			}
		}
	}()
	ship := func(g *eventGroup) {
		encCh <- g
		commitCh <- g
	}
	wwg.Add(1)
	go func() {
		defer wwg.Done()
		write := func(c *chunk) error {
			if _, err := wc.Write(c.contacts); err != nil {
				return fmt.Errorf("writing %s: %w", ContactsFile, err)
			}
			if _, err := wt.Write(c.txs); err != nil {
				return fmt.Errorf("writing %s: %w", TransactionsFile, err)
			}
			if _, err := wi.Write(c.ids); err != nil {
				return fmt.Errorf("writing %s: %w", IdentitiesFile, err)
			}
			var err error
			if g.campaign != nil {
				_, err = wtr.(*parquet.GenericWriter[campaignTruthRow]).Write(c.ctruth)
			} else {
				_, err = wtr.(*parquet.GenericWriter[truthRow]).Write(c.truth)
			}
			if err != nil {
				return fmt.Errorf("writing %s: %w", TruthFile, err)
			}
			return nil
		}
		for c := range restCh {
			if werr[1] == nil {
				if werr[1] = write(c); werr[1] != nil {
					cancel()
				}
			}
			release(c)
		}
		if werr[1] == nil {
			for _, w := range []interface{ Close() error }{wc, wt, wi, wtr} {
				if err := w.Close(); err != nil {
					werr[1] = fmt.Errorf("closing parquet writer: %w", err)
					return
				}
			}
		}
	}()

	bar := progress.Start(ctx, "generating people", int64(g.o.Contacts), "people")
	defer bar.Done()
	pending := map[int]*chunk{}
	next := 0
	group := <-groupFree
	for c := range done {
		pending[c.index] = c
		for {
			c, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			acc.add(c)
			bar.Add(int64(min(chunkSize, g.o.Contacts-c.index*chunkSize)))
			for rows := c.events; len(rows) > 0; {
				if rows = group.add(rows); group.full() {
					ship(group)
					group = <-groupFree
				}
			}
			restCh <- c
		}
	}
	if len(group.rows) > 0 {
		ship(group)
	}
	close(encCh)
	close(commitCh)
	close(restCh)
	wwg.Wait()
	if err := errors.Join(werr[0], werr[1]); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if next != nChunks {
		return fmt.Errorf("synth: internal error: wrote %d of %d chunks", next, nChunks)
	}
	return nil
}

// stage is the contact's lifecycle stage at T, as a CRM export at T would show it.
func (g *generator) stage(pr *person, events []ev) string {
	if pr.customerAtT {
		return "customer"
	}
	if pr.unsubscribed {
		return "unsubscribed"
	}
	t := g.tab
	var trial, form, engaged bool
	for k := range events {
		e := &events[k]
		if e.ts >= g.asOf {
			break
		}
		recent := e.ts >= g.asOf-90*dayUs
		switch {
		case e.typ == evTrialStart && recent:
			trial = true
		case e.typ == evFormSubmit && (e.page == t.pDemo || e.page == t.pContact) && e.ts >= g.asOf-180*dayUs:
			form = true
		case recent && (e.typ == evEmailClick || (e.typ == evPageView && e.page == t.pPricing) || e.typ == evWebinar):
			engaged = true
		}
	}
	switch {
	case trial:
		return "opportunity"
	case form && pr.business:
		return "sql"
	case form || engaged:
		return "mql"
	case pr.identityLink:
		return "subscriber"
	}
	return "lead"
}

// fill generates the people of chunk idx into c.
func (g *generator) fill(s *sim, c *chunk, idx int) {
	t := g.tab
	c.index = idx
	c.contacts, c.events, c.txs, c.ids, c.truth, c.people = c.contacts[:0], c.events[:0], c.txs[:0], c.ids[:0], c.truth[:0], c.people[:0]
	c.ctruth = c.ctruth[:0]
	lo, hi := idx*chunkSize, min((idx+1)*chunkSize, g.o.Contacts)
	if cap(c.floats) < floatsPerPerson*chunkSize {
		c.floats = make([]float64, floatsPerPerson*chunkSize)
	}
	for i := lo; i < hi; i++ {
		pr := s.simulate(i)
		pr.attrs.Stage = g.stage(&pr, s.events)
		c.contacts = append(c.contacts, pr.attrs)
		if pr.dupID != "" {
			c.contacts = append(c.contacts, contactRow{ContactID: pr.dupID, CreatedAt: pr.dupCreated, Email: pr.email,
				Stage: "subscriber", AccountType: pr.attrs.AccountType, Gender: pr.attrs.Gender, PostalCode: pr.attrs.PostalCode})
		}
		if pr.identityLink {
			c.ids = append(c.ids, identityRow{IDA: pr.id, IDB: pr.anonID, TS: pr.created})
		}
		for k := range s.events {
			e := &s.events[k]
			row := eventRow{TS: e.ts, Type: t.types[e.typ], Page: t.pages[e.page], Channel: t.channels[e.channel], Campaign: t.camps[e.campaign]}
			switch e.who {
			case whoContact:
				row.ContactID = pr.id
			case whoAnonymous:
				row.AnonymousID = pr.anonID
			case whoEmail:
				row.Email = pr.email
			case whoLink:
				row.ContactID, row.AnonymousID = pr.id, pr.anonID
			case whoDuplicate:
				row.ContactID, row.Email = pr.dupID, pr.email
			}
			if e.typ == evSurvey && e.value >= 0 {
				row.Value = &t.nps[e.value]
			}
			c.events = append(c.events, row)
		}
		for k := range s.txs {
			x := &s.txs[k]
			c.txs = append(c.txs, txRow{ContactID: pr.id, TS: x.ts, Amount: x.amount, Product: t.products[x.category][x.item],
				Category: t.cats[x.category], Quantity: int64(x.quantity)})
		}
		ps := &g.personas[pr.persona]
		gg := ps.Spend
		tr := truthRow{ContactID: pr.id, Persona: int32(pr.persona), PersonaName: ps.Name, Lambda: pr.lambda, P: pr.p,
			Nu: pr.nu, SpendMean: gg.P / pr.nu, Customer: pr.customerAtT, AliveAtAsOf: pr.aliveAtT, FirstPurchaseAt: pr.first,
			PurchasesBefore: int32(pr.nBefore), PurchasesHorizon: int32(pr.nHorizon), SpendHorizon: math.Round(pr.spendHorizon*100) / 100,
			NContacts: 1, AnonymousID: pr.anonID}
		if pr.dupID != "" {
			tr.NContacts = 2
		}
		j := floatsPerPerson * (i - lo)
		if pr.customerAtT {
			c.floats[j] = pr.pChurn
			tr.PChurn = &c.floats[j]
			tr.Churned = &t.bits[b2i(pr.nHorizon == 0)]
		} else {
			c.floats[j+1] = pr.pConvert
			tr.PConvert = &c.floats[j+1]
			tr.Converted = &t.bits[b2i(pr.nHorizon > 0)]
		}
		if g.campaign != nil {
			c.ctruth = append(c.ctruth, g.campaignTruth(tr, &pr, c.floats[j+2:j+5]))
		} else {
			c.truth = append(c.truth, tr)
		}
		c.people = append(c.people, pr)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// accumulator gathers the summary in write order.
type accumulator struct {
	g             *generator
	sum           *Summary
	byType        [nEventTypes + 1]int64 // the canonical types, then the campaign's
	camp          campaignAcc
	byPersona     []int64
	convP, churnP []float64
	convY, churnY []bool
}

func newAccumulator(g *generator, sum *Summary) *accumulator {
	return &accumulator{g: g, sum: sum, byPersona: make([]int64, len(g.personas))}
}

func (a *accumulator) add(c *chunk) {
	s := a.sum
	s.Contacts += int64(len(c.contacts))
	s.Events += int64(len(c.events))
	s.Transactions += int64(len(c.txs))
	s.Identities += int64(len(c.ids))
	t := a.g.tab
	for k := range c.events {
		e := &c.events[k]
		for ty, name := range t.types {
			if name == e.Type {
				a.byType[ty]++
				break
			}
		}
		if e.ContactID == "" && e.AnonymousID != "" {
			s.AnonymousEvents++
		}
	}
	for k := range c.people {
		pr := &c.people[k]
		a.camp.add(pr)
		a.byPersona[pr.persona]++
		if pr.dupID != "" {
			s.Duplicates++
		}
		if pr.customerAtT {
			s.CustomersAtAsOf++
			a.churnP = append(a.churnP, pr.pChurn)
			a.churnY = append(a.churnY, pr.nHorizon == 0)
			if pr.nHorizon == 0 {
				s.Churned++
			}
		} else {
			s.ProspectsAtAsOf++
			a.convP = append(a.convP, pr.pConvert)
			a.convY = append(a.convY, pr.nHorizon > 0)
			if pr.nHorizon > 0 {
				s.Converted++
			}
		}
	}
}

func (a *accumulator) finish() {
	s := a.sum
	for ty, n := range a.byType {
		if ty == evCampaign && n == 0 {
			continue // not a canonical type: only listed when there is a campaign
		}
		s.EventsByType[a.g.tab.types[ty]] = n
	}
	if a.g.campaign != nil {
		s.Campaign = a.camp.summary()
	}
	for k, n := range a.byPersona {
		s.PeopleByPersona[a.g.personas[k].Name] = n
	}
	if s.ProspectsAtAsOf > 0 {
		s.ConversionRate = float64(s.Converted) / float64(s.ProspectsAtAsOf)
	}
	if s.CustomersAtAsOf > 0 {
		s.ChurnRate = float64(s.Churned) / float64(s.CustomersAtAsOf)
	}
	s.ConversionAUC = finite(AUC(a.convP, a.convY))
	s.ChurnAUC = finite(AUC(a.churnP, a.churnY))
}

// finite maps an undefined statistic (NaN) to 0, so summaries stay valid JSON.
func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}

// AUC returns the area under the ROC curve of scores against labels (ties count one half),
// by the rank-sum (Mann–Whitney U) identity. It is NaN when a class is empty.
func AUC(scores []float64, labels []bool) float64 {
	if len(scores) != len(labels) {
		panic("synth: AUC length mismatch")
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var rankSum float64
	var nPos, nNeg float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // average 1-based rank of the tie group
		for k := i; k < j; k++ {
			if labels[idx[k]] {
				rankSum += mid
				nPos++
			} else {
				nNeg++
			}
		}
		i = j
	}
	if nPos == 0 || nNeg == 0 {
		return math.NaN()
	}
	return (rankSum - nPos*(nPos+1)/2) / (nPos * nNeg)
}

func (g *generator) parameters(sum *Summary) Parameters {
	p := Parameters{
		FormatVersion:          FormatVersion,
		Build:                  buildinfo.Read(),
		Generator:              "propensity synth",
		Contacts:               g.o.Contacts,
		Seed:                   g.o.Seed,
		AsOf:                   g.o.AsOf,
		HorizonDays:            g.o.Horizon.Hours() / 24,
		HistoryDays:            g.o.History.Hours() / 24,
		DuplicateRate:          g.o.DuplicateRate,
		BGNBDTimeUnit:          "week",
		Personas:               g.personas,
		Conversion:             g.conv,
		Campaign:               g.campaign,
		ConversionWindowStarts: sum.ConversionWindows,
		Notes: []string{
			"times are microseconds UTC; BG/NBD lambda is per week",
			"a prospect's first purchase in a conversion window [s, s+H) is drawn with conversion.Probability of its behaviour before s; later purchases follow the persona's BG/NBD and Gamma-Gamma",
			"truth.p_churn = 1 - P(alive at T | lambda, p, purchases before T) * (1 - exp(-lambda H))",
			"contacts.stage is the lifecycle stage at as_of: it leaks for snapshots taken before as_of",
		},
	}
	// The copy in generator.json leaves out what varies between runs of the same options.
	stable := *sum
	stable.Dir, stable.Seconds, stable.EventsPerSecond = "", 0, 0
	p.Summary = &stable
	return p
}
