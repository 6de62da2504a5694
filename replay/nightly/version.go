package nightly

import "runtime/debug"

// buildVersion is the version of this reprise as its build info gives it:
// the module version (or "(devel)"), then the VCS revision (12 digits,
// "+dirty" when the tree had changes) when the binary was built from a
// checkout; "unknown" without build info. It is the one place nightly
// asks; a shared version helper can replace it.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " " + rev + dirty
	}
	return v
}
