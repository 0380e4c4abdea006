package synth_test

import (
	"context"
	"fmt"
	"os"

	"github.com/propensity-dev/propensity/data/synth"
)

func ExampleGenerate() {
	dir, err := os.MkdirTemp("", "history-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	sum, err := synth.Generate(context.Background(), dir, synth.Options{Contacts: 300, Seed: 42})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("people:", sum.People)
	fmt.Println("prospects + customers:", sum.ProspectsAtAsOf+sum.CustomersAtAsOf)
	fmt.Println("as of:", sum.AsOf.Format("2006-01-02"), "horizon days:", sum.HorizonDays)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		fmt.Println(e.Name())
	}
	// Output:
	// people: 300
	// prospects + customers: 300
	// as of: 2026-01-01 horizon days: 90
	// contacts.parquet
	// events.parquet
	// generator.json
	// identities.parquet
	// transactions.parquet
	// truth.parquet
}

func ExampleConversionModel_Probability() {
	m := synth.DefaultConversion()
	cold := synth.ConversionFeatures{DaysSinceLastEvent: 200}
	warm := synth.ConversionFeatures{PricingViews30d: 3, EmailClicks30d: 2, FormSubmits90d: 1, DaysSinceLastEvent: 1}
	student := warm
	student.Student = true
	// warm: z = −3 + 1.0·3 + 1.0 + 0.9·ln 3 + 0.7 = 2.689, so p = 1/(1+e^−2.689) = 0.936.
	fmt.Printf("cold %.3f, warm %.3f, warm student %.3f\n", m.Probability(cold), m.Probability(warm), m.Probability(student))
	// Output:
	// cold 0.005, warm 0.936, warm student 0.013
}
