package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/propensity-dev/propensity/data"
	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/btyd"
	"github.com/propensity-dev/propensity/models/classifier"
	"github.com/propensity-dev/propensity/models/effect"
	"github.com/propensity-dev/propensity/models/persona"
	"github.com/propensity-dev/propensity/models/scorecard"
	"github.com/propensity-dev/propensity/serving"
	"github.com/propensity-dev/propensity/serving/web"
	"github.com/propensity-dev/propensity/training/ltv"
	"github.com/propensity-dev/propensity/training/personas"
	"github.com/propensity-dev/propensity/training/tabular"
	"github.com/propensity-dev/propensity/training/uplift"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(m.Run())
}

// trained is what trainModels leaves: the models directory and the batch objects the checks
// compare with.
type trained struct {
	models   string
	table    *history.Table // the training history's feature table as of asOf
	tab      map[string]*classifier.Model
	uplift   *effect.Artifact
	ltv      *btyd.LTVModel
	personas *persona.Model
	cards    *scorecard.Set
}

// trainModels trains every model on the history hist as of asOf (conversion with gradient
// boosting, churn with logistic regression, uplift, LTV and personas) into models, with
// the training libraries, and loads them as the service does.
func trainModels(t *testing.T, ctx context.Context, hist, models string, asOf time.Time, horizon time.Duration) *trained {
	t.Helper()
	tr := &trained{models: models, tab: map[string]*classifier.Model{}}
	for kind, algo := range map[string]string{artifact.KindConversion: classifier.ModelGBT, artifact.KindChurn: classifier.ModelLogistic} {
		job := tabular.HistoryJob{Dir: hist, Target: kind, AsOf: asOf, Horizon: horizon, Out: models, Train: tabular.Options{Model: algo}}
		if _, _, err := job.Run(ctx); err != nil {
			t.Fatalf("training %s: %v", kind, err)
		}
		m, err := classifier.LoadModel(filepath.Join(models, kind))
		if err != nil {
			t.Fatal(err)
		}
		tr.tab[kind] = m
	}
	if _, _, err := (uplift.HistoryJob{Dir: hist, TreatmentEvent: synth.CampaignEventType, AsOf: asOf, Horizon: horizon,
		Train: uplift.Options{MinGroup: 100, Learner: effect.LearnerT}, Out: models}).Run(ctx); err != nil {
		t.Fatalf("training uplift: %v", err)
	}
	var err error
	if tr.uplift, err = effect.Load(filepath.Join(models, artifact.KindUplift)); err != nil {
		t.Fatal(err)
	}
	// The ltv job writes its reports and artifact into the models directory's ltv/.
	if _, err := ltv.Run(ctx, ltv.Options{Transactions: filepath.Join(hist, "transactions.parquet"),
		CalibrationEnd: asOf.Add(-24 * time.Hour), Out: filepath.Join(models, artifact.KindLTV)}); err != nil {
		t.Fatalf("ltv: %v", err)
	}
	if tr.ltv, _, err = btyd.LoadLTVModel(filepath.Join(models, artifact.KindLTV)); err != nil {
		t.Fatal(err)
	}
	if tr.table, _, err = history.Build(ctx, hist, features.Options{AsOf: asOf}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.table.Release)
	fr, err := personas.FromFeatures(tr.table)
	if err != nil {
		t.Fatal(err)
	}
	// The default persona feature set of `propensity personas --data`: derived shares and
	// ratios and weighted categories, which the service computes by position.
	popts := personas.Options{Persona: persona.Settings{K: 4, Transform: persona.TransformSettings{Impute: true}}}
	personas.PersonaFeatures(fr).Use(&popts)
	if len(popts.Derived) == 0 {
		t.Fatal("the persona feature set has no derived inputs on generated history")
	}
	pout, err := personas.Run(ctx, fr, popts)
	if err != nil {
		t.Fatalf("personas: %v", err)
	}
	if _, err := persona.Save(filepath.Join(models, artifact.KindPersonas), pout.Model, len(pout.IDs)); err != nil {
		t.Fatal(err)
	}
	tr.personas = pout.Model
	cardYAML, err := data.Scorecard(data.DefaultScorecard)
	if err != nil {
		t.Fatal(err)
	}
	if tr.cards, err = scorecard.Parse(cardYAML, data.DefaultScorecard); err != nil {
		t.Fatal(err)
	}
	return tr
}

// registry loads the trained models with the default scorecard, as the service does, with
// the feature options fo (zero: those the models' manifests record, as `propensity serve
// --models` and `score --data --models` take them).
func (tr *trained) registry(t *testing.T, ctx context.Context, fo features.Options) (*serving.Registry, *serving.ModelSet) {
	t.Helper()
	loader := serving.NewLoader(tr.models, nil)
	loader.Rules = func() (serving.RulesModel, error) { return serving.NewRules(tr.cards, "embedded"), nil }
	loader.FeatureOptions = fo
	reg := serving.NewRegistry(loader.Load, nil, nil)
	set, err := reg.Reload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return reg, set
}

// TestServeMatchesBatch trains every model on a small synthetic history, serves them, posts
// the profile of sampled people as of T and checks every block against the batch path: the
// feature table row scored by the same models, the LTV model on the person's transactions,
// the scorecard on the person's events.
func TestServeMatchesBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	ctx := context.Background()
	work := t.TempDir()
	hist := filepath.Join(work, "history")
	asOf := synth.DefaultAsOf()
	// With a randomised campaign at T, for the uplift model.
	if _, err := synth.Generate(ctx, hist, synth.Options{Contacts: 2000, Seed: 1, CampaignShare: 0.5}); err != nil {
		t.Fatal(err)
	}
	tr := trainModels(t, ctx, hist, filepath.Join(work, "models"), asOf, 90*24*time.Hour)
	table, tab, cards := tr.table, tr.tab, tr.cards
	// The service, with the feature options the batch table was computed with.
	reg, _ := tr.registry(t, ctx, withoutAsOf(table.Options()))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- web.New(reg, web.Options{}, nil).Serve(sctx, ln) }()
	defer func() { cancel(); <-done }()
	url := "http://" + ln.Addr().String() + "/v1/score"

	// The batch rows, by contact id.
	ids := table.ContactIDs()
	rowOf := map[string]int{}
	for i, id := range ids {
		rowOf[id] = i
	}
	checked, withLTV, withGroup := 0, 0, 0
	_, err = history.ForEachPerson(ctx, hist, features.Options{AsOf: asOf}, func(p *history.Person) error {
		r, ok := rowOf[p.ContactID]
		if !ok || checked >= 40 || r%7 != 0 {
			return nil
		}
		checked++
		prof := p.Profile(asOf)
		// Only history before T is sent: what an application would know at T.
		prof.Transactions = before(prof.Transactions, asOf)
		body, err := json.Marshal(prof)
		if err != nil {
			return err
		}
		resp, err := http.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s: %d %s", p.ContactID, resp.StatusCode, b)
		}
		var got serving.Response
		if err := json.Unmarshal(b, &got); err != nil {
			return err
		}
		batch := tableRecord(t, table, r)
		for kind, blk := range map[string]*serving.Prediction{artifact.KindConversion: got.Conversion, artifact.KindChurn: got.Churn} {
			m := tab[kind]
			rec := map[string]any{}
			for _, name := range m.Inputs() {
				rec[name] = batch[name]
			}
			want, _, err := m.PredictRow(rec)
			if err != nil {
				return fmt.Errorf("%s batch %s: %w", p.ContactID, kind, err)
			}
			if blk == nil || math.Abs(blk.Probability-want) > 1e-9 {
				t.Errorf("%s %s: served %+v, batch %v", p.ContactID, kind, blk, want)
			}
		}
		if err := checkUplift(tr.uplift, batch, got.Uplift); err != nil {
			t.Errorf("%s uplift: %v", p.ContactID, err)
		} else if got.Uplift.Group != "" {
			withGroup++
		}
		pid, _, pdist, err := tr.personas.Assign(batch)
		if err != nil {
			return err
		}
		if got.Persona == nil || got.Persona.ID != pid || math.Abs(got.Persona.Distance-pdist) > 1e-9 {
			t.Errorf("%s persona: served %+v, batch %d %v", p.ContactID, got.Persona, pid, pdist)
		}
		var purchases []btyd.Purchase
		for _, tx := range p.Transactions {
			purchases = append(purchases, btyd.Purchase{Time: tx.TS, Amount: tx.Amount})
		}
		wantLTV, err := tr.ltv.ScoreHistory(purchases, asOf)
		switch {
		case err != nil && got.LTV != nil:
			t.Errorf("%s ltv: served %+v, batch has none (%v)", p.ContactID, got.LTV, err)
		case err == nil && (got.LTV == nil || !closeLTV(*got.LTV, wantLTV)):
			t.Errorf("%s ltv: served %+v, batch %+v", p.ContactID, got.LTV, wantLTV)
		case err == nil:
			withLTV++
		}
		wantRules, err := cards.Score(serving.ScorecardInput(&prof))
		if err != nil {
			return err
		}
		gotRules, _ := json.Marshal(got.Rules)
		wantJSON, _ := json.Marshal(wantRules)
		if !bytes.Equal(gotRules, wantJSON) {
			t.Errorf("%s rules: served %s, batch %s", p.ContactID, gotRules, wantJSON)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 20 || withLTV == 0 {
		t.Errorf("checked %d people, %d with an LTV block", checked, withLTV)
	}
	t.Logf("%d people checked, %d with an uplift group label", checked, withGroup)
}

// checkUplift compares a served uplift block with the model scoring the batch row.
func checkUplift(m *effect.Artifact, batch map[string]any, got *serving.Uplift) error {
	num := make([]float64, len(m.Payload.Inputs))
	str := make([]string, len(m.Payload.Inputs))
	for i, in := range m.Payload.Inputs {
		num[i] = math.NaN()
		switch v := batch[in.Name].(type) {
		case float64:
			num[i] = v
		case string:
			str[i] = v
		}
	}
	want, err := m.ScoreValues(num, str)
	if err != nil {
		return err
	}
	if got == nil || math.Abs(got.Effect-want.Effect) > 1e-9 || got.Decile != want.Decile || got.Group != want.Group ||
		got.ModelVersion != m.Manifest.Version {
		return fmt.Errorf("served %+v, batch %+v", got, want)
	}
	return nil
}

// closeLTV compares LTV blocks to 1e-12 relative: btyd sums a customer's amounts in map
// order, so the last bit may differ between two calls on the same history.
func closeLTV(a, b serving.LTV) bool {
	return near(a.PAlive, b.PAlive) && near(a.ExpectedPurchases, b.ExpectedPurchases) &&
		near(a.ExpectedSpendPerPurchase, b.ExpectedSpendPerPurchase) && near(a.CLV, b.CLV) &&
		a.HorizonDays == b.HorizonDays && a.ModelVersion == b.ModelVersion
}

// near: x and y agree to 1e-12 relative (absolute below 1).
func near(x, y float64) bool { return math.Abs(x-y) <= 1e-12*math.Max(1, math.Abs(y)) }

func withoutAsOf(o features.Options) features.Options {
	o.AsOf = time.Time{}
	o.Horizon = 0
	return o
}

func before(ts []features.Transaction, t time.Time) []features.Transaction {
	var out []features.Transaction
	for _, x := range ts {
		if x.TS.Before(t) {
			out = append(out, x)
		}
	}
	return out
}

// tableRecord returns row r of the batch feature table as name → value (nil for nulls).
func tableRecord(t *testing.T, table *history.Table, r int) map[string]any {
	t.Helper()
	rec := map[string]any{}
	for _, c := range table.Schema().Columns {
		switch c.Kind {
		case features.KindID, features.KindCategorical:
			v, err := table.Strings(c.Name)
			if err != nil {
				t.Fatal(err)
			}
			if v[r] != "" {
				rec[c.Name] = v[r]
			} else {
				rec[c.Name] = nil
			}
		case features.KindIDList:
		default:
			v, err := table.Float64s(c.Name)
			if err != nil {
				t.Fatal(err)
			}
			if math.IsNaN(v[r]) {
				rec[c.Name] = nil
			} else {
				rec[c.Name] = v[r]
			}
		}
	}
	return rec
}
