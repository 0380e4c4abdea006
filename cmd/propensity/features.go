package main

import (
	"context"
	"errors"
)

// runFeatures is not built yet: see the issue that owns the "features" command.
func runFeatures(ctx context.Context, env *cliEnv, args []string) error {
	return errors.New("not implemented yet")
}
