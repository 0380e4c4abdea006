package main

import (
	"context"
	"errors"
)

// runGenerate is not built yet: see the issue that owns the "generate" command.
func runGenerate(ctx context.Context, env *cliEnv, args []string) error {
	return errors.New("not implemented yet")
}
