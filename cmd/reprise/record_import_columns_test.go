package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRecordImportColumnFlags: a bad --column or --columns is exit 2
// naming the flag and what is wrong, before any file is read.
func TestRecordImportColumnFlags(t *testing.T) {
	dir := t.TempDir()
	cm := writeFile(t, dir, "columns.json", `{"output.label": "label"}`)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--column", "output.decision"}, `--column "output.decision": invalid column map: want FIELD=COLUMN`},
		{[]string{"--column", "nosuch=x"}, `unknown field "nosuch"`},
		{[]string{"--columns", cm}, `--columns: ` + cm + `: invalid column map: unknown field "output.label"`},
		{[]string{"--columns", filepath.Join(dir, "missing.json")}, "--columns: invalid column map"},
		{[]string{"--column", "request_id=a", "--column", "input_hash=a"}, `column "a" given to both input_hash and request_id`},
	} {
		args := append([]string{"record", "import", "--log", "log.jsonl", "--versions", "v.json", "-o", filepath.Join(dir, "o.parquet")}, c.args...)
		r := cli(t, "", args...)
		if r.code != exitUsage || !strings.Contains(r.err, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d saying %q", c.args, r.code, r.err, exitUsage, c.want)
		}
	}
}
