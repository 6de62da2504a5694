// Package buildinfo says which reprise this is: the module version and the
// VCS revision Go stamps into the binary (runtime/debug build info), for
// `reprise version` and for the reprise_version every record reprise
// creates, every report, night and eval run carries.
//
// A release build may set the version with
// -ldflags "-X github.com/reprise-dev/reprise/buildinfo.version=v1.2.3";
// otherwise it is the main module's version ("(devel)" for a build from a
// work tree).
package buildinfo

import (
	"runtime/debug"
	"strings"
	"sync"
)

// version is set by the linker for a release build; "" reads the build info.
var version string

// Info is what the binary says about its own build.
type Info struct {
	// Module is the main module's path.
	Module string `json:"module"`
	// Version is the module version ("(devel)" for a work-tree build).
	Version string `json:"version"`
	// Revision is the VCS revision (commit hash); "" when not stamped.
	Revision string `json:"revision,omitempty"`
	// Time is the revision's commit time (RFC 3339); "" when not stamped.
	Time string `json:"time,omitempty"`
	// Modified says the work tree had uncommitted changes.
	Modified bool `json:"modified,omitempty"`
	// Go is the Go toolchain that built the binary.
	Go string `json:"go"`
}

var (
	once sync.Once
	info Info
)

// Read is the binary's build info, read once.
func Read() Info {
	once.Do(func() { info = read(debug.ReadBuildInfo()) })
	return info
}

func read(bi *debug.BuildInfo, ok bool) Info {
	in := Info{Module: "github.com/reprise-dev/reprise", Version: "(unknown)"}
	if ok {
		in.Module, in.Version, in.Go = bi.Main.Path, bi.Main.Version, bi.GoVersion
		if in.Module == "" { // a test binary
			in.Module = "github.com/reprise-dev/reprise"
		}
		if in.Version == "" {
			in.Version = "(devel)"
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Revision = s.Value
			case "vcs.time":
				in.Time = s.Value
			case "vcs.modified":
				in.Modified = s.Value == "true"
			}
		}
	}
	if version != "" {
		in.Version = version
	}
	return in
}

// String is the one-word version recorded in files: the module version,
// then "+" and the first 12 hex digits of the revision when stamped, then
// "+dirty" when the tree was modified, e.g. "v1.2.3",
// "(devel)+85328d6e9a1b+dirty". A pseudo-version already names its
// revision, so it is not repeated.
func (in Info) String() string {
	var b strings.Builder
	b.WriteString(in.Version)
	if r := in.Revision; r != "" && !strings.Contains(in.Version, short(r)) {
		b.WriteString("+" + short(r))
	}
	if in.Modified && !strings.HasSuffix(in.Version, "+dirty") {
		b.WriteString("+dirty")
	}
	return b.String()
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

// Version is Read().String(): what reports, nights, eval runs and records
// carry as reprise_version.
func Version() string { return Read().String() }
