package ingest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVersionMapErrorNamesFileAndLine: a version map that does not parse
// is named, with the line where decoding failed (a truncated file: its
// last line).
func TestVersionMapErrorNamesFileAndLine(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ body, want string }{
		{`{"schema":`, "bad.json: invalid version map: line 1: unexpected EOF"},
		{"{\n \"schema\": \"reprise/version-map/v1\",\n \"models\": 3\n}", "bad.json: invalid version map: line 3: json: cannot unmarshal number"},
		{"{\n\n  \"schema\" \"x\"}", "bad.json: invalid version map: line 3: invalid character"},
	} {
		p := filepath.Join(dir, "bad.json")
		if err := os.WriteFile(p, []byte(c.body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadVersionMap(p)
		if !errors.Is(err, ErrVersionMap) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want …%s…", c.body, err, c.want)
		}
	}
}
