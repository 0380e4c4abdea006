// Package buildinfo says which build of propensity is running: the module version, the
// version-control revision it was built from and the Go toolchain. `propensity version`
// prints it and every artifact records it, so a model can be traced to the code that made it.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Info identifies a build. Fields the toolchain did not record are empty.
type Info struct {
	// Module is the main module's path.
	Module string `json:"module,omitempty"`
	// Version is the module version ("v1.2.3"), or "(devel)" for a build from a checkout.
	Version string `json:"version,omitempty"`
	// Revision is the version-control revision (a git commit hash) the build came from.
	Revision string `json:"revision,omitempty"`
	// Time is the commit time of Revision, RFC 3339.
	Time string `json:"time,omitempty"`
	// Modified is true when the working tree had uncommitted changes.
	Modified bool `json:"modified,omitempty"`
	// GoVersion is the Go toolchain that built the binary ("go1.26.8").
	GoVersion string `json:"go_version"`
}

// Read returns the running binary's build information. Tests and `go run` builds carry no
// version-control settings; the Go version is always known.
func Read() Info {
	info := Info{GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	info.Module = bi.Main.Path
	info.Version = bi.Main.Version
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// String is the one-line form `propensity version` prints:
// "propensity v1.2.3 (revision 0123abcd, modified) go1.26.8".
func (i Info) String() string {
	v := i.Version
	if v == "" {
		v = "(unknown version)"
	}
	rev := i.Revision
	if rev == "" {
		rev = "unknown revision"
	} else {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		rev = "revision " + rev
	}
	if i.Modified {
		rev += ", modified"
	}
	return fmt.Sprintf("propensity %s (%s) %s", v, rev, i.GoVersion)
}
