package churn_test

import (
	"os"
	"testing"

	"github.com/propensity-dev/propensity/notebooks/internal/figures"
)

// TestMain removes the figures the cells wrote, unless figures.KeepEnv asks to keep them.
func TestMain(m *testing.M) { os.Exit(figures.Run(m)) }
