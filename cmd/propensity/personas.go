package main

import (
	"context"
	"errors"
)

// runPersonas is not built yet: see the issue that owns the "personas" command.
func runPersonas(ctx context.Context, env *cliEnv, args []string) error {
	return errors.New("not implemented yet")
}
