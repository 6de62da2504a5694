package main

import (
	"strings"
	"testing"
)

// TestFlagValueCompletion: shell completion offers the values of the
// flags that take one of a few (--runner, --format, --evals, --protocol,
// --stratify, capture serve's --input, --on-full, --tier), and nothing
// for a file flag of the same name elsewhere (record create --input).
func TestFlagValueCompletion(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"replay", "--runner", ""}, "docker\nprocess\nendpoint\n:4"},
		{[]string{"nightly", "--format", ""}, "text\njson\n:4"},
		{[]string{"replay", "--evals", ""}, "auto\non\noff\n:4"},
		{[]string{"record", "create", "--protocol", ""}, "jsonl-stdio\nopenai\nkserve-v2\n:4"},
		{[]string{"nightly", "--stratify", ""}, "system\n:4"},
		{[]string{"capture", "serve", "--input", ""}, "full\nhash-only\n:4"},
		{[]string{"capture", "serve", "--on-full", ""}, "drop\nblock\n:4"},
		{[]string{"capture", "serve", "--tier", ""}, "full\noutput\nhash\n:4"},
		{[]string{"record", "create", "--input", ""}, ":0"},
	} {
		r := cli(t, "", append([]string{"__complete"}, c.args...)...)
		if r.code != 0 || !strings.HasPrefix(r.out, c.want+"\n") {
			t.Errorf("%v: exit %d, completions %q, want %q", c.args, r.code, r.out, c.want)
		}
	}
}
