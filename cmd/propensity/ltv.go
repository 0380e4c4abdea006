package main

import (
	"context"
	"errors"
)

// runLTV is not built yet: see the issue that owns the "ltv" command.
func runLTV(ctx context.Context, env *cliEnv, args []string) error {
	return errors.New("not implemented yet")
}
