package scorecard

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// benchProfile is a contact with n events of every canonical type over the last year.
func benchProfile(rng *rand.Rand, n int) Input {
	types := CanonicalEventTypes()
	pages := []string{"/pricing", "/directions", "/careers", "/blog/post-1", "/products/home/lamp", "/models/suv-x", "/contact"}
	in := Input{ContactID: "c-1", AsOf: asOf, Attributes: map[string]any{
		"account_type": "b2b", "company_industry": "software", "company_employees": int64(300),
		"annual_revenue": 2e7, "job_role": "Director of IT", "email": "a@acme.com", "stage": "lead", "occupation": "engineer",
	}}
	for range n {
		in.Events = append(in.Events, Event{
			TS:   asOf.Add(-time.Duration(rng.Float64() * 365 * 24 * float64(time.Hour))),
			Type: types[rng.IntN(len(types))], Page: pages[rng.IntN(len(pages))], Channel: "organic", Value: math.NaN(),
		})
	}
	return in
}

func BenchmarkScore200Events(b *testing.B) {
	for _, file := range []string{"dealership", "b2b"} {
		b.Run(file, func(b *testing.B) {
			sc := loadFile(b, "../../data/scorecards/"+file+".yaml").Scorecards()[0]
			in := benchProfile(rand.New(rand.NewPCG(1, 2)), 200)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := sc.Score(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScoreBatch scores 10,000 contacts of 0 to 100 events each with the b2b and
// dealership sample scorecards (audience selection included).
func BenchmarkScoreBatch(b *testing.B) {
	set := loadFiles(b, "../../data/scorecards/b2b.yaml", "../../data/scorecards/dealership.yaml")
	rng := rand.New(rand.NewPCG(3, 4))
	people := make([]Input, 10_000)
	for i := range people {
		people[i] = benchProfile(rng, rng.IntN(101))
		if i%2 == 0 {
			people[i].Attributes["account_type"] = "b2c"
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		for i := range people {
			if _, err := set.Score(people[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(people))*float64(b.N)/b.Elapsed().Seconds(), "contacts/s")
}
