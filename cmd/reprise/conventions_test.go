package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutputConvention: -o/--output names where output goes and --format
// how it is printed, on every verb; the old spellings (--out, and --output
// text|json for the format) still work with a warning on stderr.
func TestOutputConvention(t *testing.T) {
	dir := t.TempDir()
	st := emptyStore(t, filepath.Join(dir, "store"))
	blob := writeFile(t, dir, "blob.txt", "hello\n")
	put := cli(t, "", "--store", st, "store", "put", blob)
	if put.code != 0 {
		t.Fatalf("store put: exit %d, %s", put.code, put.err)
	}
	d := strings.Fields(put.out)[0]
	for _, c := range []struct {
		name, flag string
		warn       string
	}{
		{"short", "-o", ""},
		{"long", "--output", ""},
		{"old", "--out", "reprise: warning: --out is deprecated: use -o/--output " + filepath.Join(dir, "old") + "\n"},
	} {
		p := filepath.Join(dir, c.name)
		r := cli(t, "", "--store", st, "store", "get", c.flag, p, d)
		if b, err := os.ReadFile(p); r.code != 0 || err != nil || string(b) != "hello\n" || r.err != c.warn {
			t.Errorf("store get %s FILE: exit %d, stderr %q, file %q (%v); want the blob and stderr %q", c.flag, r.code, r.err, b, err, c.warn)
		}
	}
	// A verb with both: --output json is the old spelling of --format json.
	r := cli(t, "", "replay", "--output", "json", "--format", "xml", "x.json")
	if r.code != 2 || !strings.Contains(r.err, `invalid argument "xml" for "--format"`) {
		t.Errorf("replay --format xml: exit %d, stderr %q", r.code, r.err)
	}
	for _, args := range [][]string{{"version", "--output", "json"}, {"version", "--format", "json"}} {
		r = cli(t, "", args...)
		warned := strings.Contains(r.err, "--output json is deprecated: use --format json")
		if r.code != 0 || !strings.HasPrefix(r.out, "{") || warned != (args[1] == "--output") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, r.code, r.out, r.err)
		}
	}
	// Every verb that prints a result has --format, and no verb uses
	// --output for anything but where output goes (or the hidden old
	// spelling).
	for _, c := range commandTree() {
		if f := c.Flags().Lookup("output"); f != nil && !f.Hidden && f.Shorthand != "o" {
			t.Errorf("%s: --output without -o (%s)", c.CommandPath(), f.Usage)
		}
		if f := c.Flags().Lookup("out"); f != nil && !f.Hidden {
			t.Errorf("%s: --out is not hidden", c.CommandPath())
		}
	}
}
