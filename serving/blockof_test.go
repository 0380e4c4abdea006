package serving

import (
	"slices"
	"testing"

	"github.com/propensity-dev/propensity/models/artifact"
)

// TestBlockOf: every artifact kind provides a block of the score response; the personas
// artifact provides the persona block (the contract's name for it).
func TestBlockOf(t *testing.T) {
	for _, kind := range []string{artifact.KindConversion, artifact.KindChurn, artifact.KindLTV, artifact.KindPersonas} {
		if b := BlockOf(kind); !slices.Contains(Blocks(), b) {
			t.Errorf("BlockOf(%q) = %q, not a response block %v", kind, b, Blocks())
		}
	}
	if b := BlockOf(artifact.KindPersonas); b != BlockPersona {
		t.Errorf("BlockOf(personas) = %q, want %q", b, BlockPersona)
	}
}
