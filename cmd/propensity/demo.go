package main

import (
	"context"
	"errors"
)

// runDemo is not built yet: see the issue that owns the "demo" command.
func runDemo(ctx context.Context, env *cliEnv, args []string) error {
	return errors.New("not implemented yet")
}
