package metrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// Reference values from scikit-learn 1.x (roc_auc_score, average_precision_score, log_loss,
// brier_score_loss) on the same vectors, computed with Debian's python3-sklearn.
var (
	refY = []float64{1, 0, 1, 1, 0, 0, 1, 0, 0, 1}
	refP = []float64{0.9, 0.8, 0.8, 0.6, 0.55, 0.4, 0.35, 0.2, 0.2, 0.1}
	refW = []float64{1, 2, 1, 1, 0.5, 1, 3, 1, 1, 2}
)

func TestAgainstScikitLearn(t *testing.T) {
	tests := []struct {
		name                    string
		w                       []float64
		auc, ap, logloss, brier float64
	}{
		{"unweighted", nil, 0.62, 0.6976190476190476, 0.7556795243277034, 0.2625},
		{"weighted", refW, 0.4431818181818181, 0.6474902534113061, 0.9754969370069367, 0.3532407407407408},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auc, err := AUC(refY, refP, tt.w)
			if err != nil {
				t.Fatal(err)
			}
			ap, err := AveragePrecision(refY, refP, tt.w)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"auc", auc, tt.auc}, {"ap", ap, tt.ap},
				{"logloss", LogLoss(refY, refP, tt.w), tt.logloss},
				{"brier", Brier(refY, refP, tt.w), tt.brier},
			} {
				if math.Abs(c.got-c.want) > 1e-12 {
					t.Errorf("%s = %.15g, want %.15g", c.name, c.got, c.want)
				}
			}
		})
	}
}

func TestAUCMatchesPairCount(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 200
	y, p, w := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range y {
		if rng.Float64() < 0.3 {
			y[i] = 1
		}
		p[i] = float64(rng.IntN(20)) / 20 // many ties
		w[i] = rng.Float64() + 0.1
	}
	var num, den float64
	for i := range y {
		for j := range y {
			if y[i] == 1 && y[j] == 0 {
				ww := w[i] * w[j]
				den += ww
				switch {
				case p[i] > p[j]:
					num += ww
				case p[i] == p[j]:
					num += ww / 2
				}
			}
		}
	}
	got, err := AUC(y, p, w)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-num/den) > 1e-12 {
		t.Fatalf("AUC = %v, pair count %v", got, num/den)
	}
	fpr, tpr, err := ROC(y, p, w)
	if err != nil {
		t.Fatal(err)
	}
	var trap float64
	for i := 1; i < len(fpr); i++ {
		trap += (fpr[i] - fpr[i-1]) * (tpr[i] + tpr[i-1]) / 2
	}
	if math.Abs(trap-got) > 1e-12 {
		t.Fatalf("trapezoid under ROC = %v, AUC = %v", trap, got)
	}
}

func TestUndefined(t *testing.T) {
	y := []float64{1, 1}
	p := []float64{0.2, 0.4}
	if _, err := AUC(y, p, nil); !errors.Is(err, ErrOneClass) {
		t.Errorf("AUC err = %v", err)
	}
	if _, err := AveragePrecision([]float64{0, 0}, p, nil); !errors.Is(err, ErrOneClass) {
		t.Errorf("AP err = %v", err)
	}
	if _, err := AUC(nil, nil, nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty AUC err = %v", err)
	}
	if _, err := Summarize(y, p, nil); err == nil {
		t.Error("Summarize of one class succeeded")
	}
	if got := LogLoss([]float64{1}, []float64{0}, nil); math.IsInf(got, 0) || math.Abs(got+math.Log(Eps)) > 1e-9 {
		t.Errorf("LogLoss of a confident mistake = %v", got)
	}
}

func TestECEAndLift(t *testing.T) {
	// Perfectly calibrated bins: in bin [0.2,0.3) scores 0.25 with 1 positive of 4, and in
	// [0.7,0.8) scores 0.75 with 3 of 4: ECE 0.
	y := []float64{1, 0, 0, 0, 1, 1, 1, 0}
	p := []float64{0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75}
	if e := ECE(y, p, nil); math.Abs(e) > 1e-12 {
		t.Errorf("ECE = %v, want 0", e)
	}
	// Shift every score by 0.05 within the same bins: ECE 0.05.
	q := make([]float64, len(p))
	for i := range p {
		q[i] = p[i] + 0.04
	}
	if e := ECE(y, q, nil); math.Abs(e-0.04) > 1e-12 {
		t.Errorf("shifted ECE = %v, want 0.04", e)
	}
	lift, err := Lift(y, p, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Top half: 3 of 4 positive against a base rate of 1/2: lift 1.5, gain 3/4.
	if lift[0].Rate != 0.75 || lift[0].Lift != 1.5 || lift[0].Gain != 0.75 || lift[1].Gain != 1 || lift[1].CumulativeLift != 1 {
		t.Errorf("lift = %+v", lift)
	}
	if len(Reliability(y, p, nil, 0)) != 2 {
		t.Errorf("reliability bins = %+v", Reliability(y, p, nil, 0))
	}
}

func BenchmarkAUC(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 100_000
	y, p := make([]float64, n), make([]float64, n)
	for i := range y {
		p[i] = rng.Float64()
		if rng.Float64() < p[i] {
			y[i] = 1
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AUC(y, p, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
