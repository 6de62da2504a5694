package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestRead(t *testing.T) {
	for _, c := range []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"no build info", nil, false, "(unknown)"},
		{"work tree, not stamped", &debug.BuildInfo{Main: debug.Module{Path: "github.com/reprise-dev/reprise", Version: "(devel)"}}, true, "(devel)"},
		{"work tree, stamped, dirty", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "85328d6e9a1bffffffffffffffffffffffffffff"}, {Key: "vcs.modified", Value: "true"}}}, true, "(devel)+85328d6e9a1b+dirty"},
		{"release", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "85328d6e9a1bffffffffffffffffffffffffffff"}}}, true, "v1.2.3+85328d6e9a1b"},
		{"pseudo-version names its revision", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261207181154-85328d6e9a1b+dirty"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "85328d6e9a1bffffffffffffffffffffffffffff"}, {Key: "vcs.modified", Value: "true"}}}, true, "v0.0.0-20261207181154-85328d6e9a1b+dirty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := read(c.bi, c.ok)
			if got := in.String(); got != c.want {
				t.Errorf("String() = %q, want %q", got, c.want)
			}
			if in.Module != "github.com/reprise-dev/reprise" {
				t.Errorf("Module = %q", in.Module)
			}
		})
	}
}

func TestLinkerVersionWins(t *testing.T) {
	version = "v9.9.9"
	defer func() { version = "" }()
	in := read(&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true)
	if in.Version != "v9.9.9" {
		t.Errorf("Version = %q, want the linker's v9.9.9", in.Version)
	}
}
