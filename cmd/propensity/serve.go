package main

import (
	"context"
	"errors"
)

// runServe is not built yet: see the issue that owns the "serve" command.
func runServe(ctx context.Context, env *cliEnv, args []string) error {
	return errors.New("not implemented yet")
}
