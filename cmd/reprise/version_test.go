package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/buildinfo"
)

// TestVersion: `reprise version` prints the build info (text and JSON) and
// `reprise --version` the one word recorded as reprise_version.
func TestVersion(t *testing.T) {
	want := buildinfo.Version()
	if want == "" {
		t.Fatal("buildinfo.Version() is empty")
	}
	if r := cli(t, "", "--version"); r.code != 0 || r.out != "reprise version "+want+"\n" {
		t.Errorf("--version: exit %d, stdout %q; want %q", r.code, r.out, "reprise version "+want)
	}
	r := cli(t, "", "version")
	if r.code != 0 || !strings.HasPrefix(r.out, "reprise "+want+"\n") || !strings.Contains(r.out, "module:  github.com/reprise-dev/reprise\n") {
		t.Errorf("version: exit %d, stdout %q", r.code, r.out)
	}
	r = cli(t, "", "version", "--format", "json")
	var got buildinfo.Info
	if err := json.Unmarshal([]byte(r.out), &got); err != nil || r.code != 0 {
		t.Fatalf("version --format json: exit %d, %v: %q", r.code, err, r.out)
	}
	if got != buildinfo.Read() {
		t.Errorf("version --format json = %+v, want %+v", got, buildinfo.Read())
	}
}

// TestGoldenVersion holds the text of `reprise version` to
// testdata/version-ok.stdout, with what differs between builds (the
// version, revision, commit time and toolchain) written as placeholders.
func TestGoldenVersion(t *testing.T) {
	in := buildinfo.Read()
	var pairs []string
	for _, p := range [][2]string{{in.Revision, "REVISION"}, {in.Time, "TIME"}, {in.Version, "VERSION"}, {in.Go, "GOVERSION"}} {
		if p[0] != "" {
			pairs = append(pairs, p[0], p[1])
		}
	}
	norm := strings.NewReplacer(pairs...).Replace
	runGoldenCase(t, goldenCase{"version-ok", []string{"version"}, exitOK}, norm)
}
