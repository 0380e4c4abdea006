package main

import (
	"context"
	"fmt"

	"github.com/propensity-dev/propensity/internal/buildinfo"
)

// runVersion prints the build's module version, VCS revision and Go version: the same
// record every artifact's manifest carries under "build".
func runVersion(_ context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "version", "[--json]",
		"Print the module version, the version-control revision and the Go version of this build.\n"+
			"Every artifact records the same under \"build\" in its manifest.json.")
	asJSON := fs.Bool("json", false, "print the build information as one JSON object")
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	info := buildinfo.Read()
	if *asJSON {
		return env.printJSON(info)
	}
	fmt.Fprintln(env.stdout, info.String())
	return nil
}
