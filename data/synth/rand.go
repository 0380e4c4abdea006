package synth

import "math/rand/v2"

func newRand(src rand.Source) *rand.Rand { return rand.New(src) }
