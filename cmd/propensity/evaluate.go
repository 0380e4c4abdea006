package main

import (
	"context"
	"errors"
)

// runEvaluate is not built yet: see the issue that owns the "evaluate" command.
func runEvaluate(ctx context.Context, env *cliEnv, args []string) error {
	return errors.New("not implemented yet")
}
