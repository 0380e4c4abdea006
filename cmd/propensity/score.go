package main

import (
	"context"
	"errors"
)

// runScore is not built yet: see the issue that owns the "score" command.
func runScore(ctx context.Context, env *cliEnv, args []string) error {
	return errors.New("not implemented yet")
}
