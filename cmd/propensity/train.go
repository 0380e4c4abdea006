package main

import (
	"context"
	"errors"
)

// runTrain is not built yet: see the issue that owns the "train" command.
func runTrain(ctx context.Context, env *cliEnv, args []string) error {
	return errors.New("not implemented yet")
}
