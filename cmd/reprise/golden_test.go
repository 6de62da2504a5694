package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/stats/statsfile"
	"github.com/reprise-dev/reprise/store"
)

var update = flag.Bool("update", false, "rewrite the golden files testdata/*.stdout and testdata/*.stderr")

// goldenCase is one in-process run of the CLI: `reprise args...` must exit
// with wantCode and print exactly testdata/<name>.stdout on stdout and
// testdata/<name>.stderr on stderr (a missing file stands for no output).
// Name cases <verb>-<case>, e.g. stats-binom-help.
type goldenCase struct {
	name     string
	args     []string
	wantCode int
}

// runGolden runs each case as a subtest. With -update it rewrites the golden
// files from the output (removing those of empty output) instead of
// comparing; the exit code is checked either way.
func runGolden(t *testing.T, cases []goldenCase) {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("golden case %q listed twice", c.name)
		}
		seen[c.name] = true
		runGoldenCase(t, c, nil)
	}
}

// runGoldenCase runs one case as a subtest and returns what it printed. norm,
// when not nil, rewrites the volatile parts of stdout and stderr (temporary
// paths, digests of runs) before they are compared or written.
func runGoldenCase(t *testing.T, c goldenCase, norm func(string) string) cliResult {
	t.Helper()
	var res cliResult
	t.Run(c.name, func(t *testing.T) {
		var out, errb bytes.Buffer
		res.code = execute(context.Background(), &streams{In: strings.NewReader(""), Out: &out, Err: &errb}, c.args)
		res.out, res.err = out.String(), errb.String()
		if res.code != c.wantCode {
			t.Errorf("reprise %s: exit %d, want %d\nstderr: %s", strings.Join(c.args, " "), res.code, c.wantCode, res.err)
		}
		gotOut, gotErr := res.out, res.err
		if norm != nil {
			gotOut, gotErr = norm(gotOut), norm(gotErr)
		}
		checkGolden(t, filepath.Join("testdata", c.name+".stdout"), []byte(gotOut))
		checkGolden(t, filepath.Join("testdata", c.name+".stderr"), []byte(gotErr))
	})
	return res
}

// checkGolden compares got with the file at path (absent: empty), or with
// -update writes it there.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		var err error
		if len(got) == 0 {
			err = os.Remove(path)
			if errors.Is(err, fs.ErrNotExist) {
				err = nil
			}
		} else {
			err = os.WriteFile(path, got, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (rerun with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// statsGoldenCases are, for every stats verb, one success case and one
// bad-input case, plus the --output variants (TestGoldenHelp holds their
// --help).
var statsGoldenCases = map[string]struct{ ok, bad []string }{
	"binom":     {[]string{"--successes", "7", "--trials", "20"}, []string{"--successes", "11", "--trials", "10"}},
	"wilson":    {[]string{"--successes", "3", "--trials", "20"}, []string{"--successes", "1", "--trials", "10", "--conf", "1.5"}},
	"chisq":     {[]string{"--a", "testdata/stats/labels-a.txt", "--b", "testdata/stats/labels-b.txt"}, []string{"--a", "testdata/stats/labels-a.txt"}},
	"gtest":     {[]string{"--a", "testdata/stats/labels-a.txt", "--b", "testdata/stats/labels-b.txt", "--draws", "999", "--seed", "3"}, []string{"--a", "testdata/stats/labels-a.txt", "--b", "testdata/stats/labels-b.txt", "--draws", "-5"}},
	"fisher":    {[]string{"--a", "testdata/stats/labels-a.txt", "--b", "testdata/stats/labels-b.txt"}, []string{"--a", "testdata/stats/labels-a.txt", "--b", "testdata/stats/missing.txt"}},
	"mcnemar":   {[]string{"--a", "testdata/stats/pass-a.txt", "--b", "testdata/stats/pass-b.txt", "--method", "exact"}, []string{"--a", "testdata/stats/bad.txt", "--b", "testdata/stats/pass-b.txt"}},
	"bh":        {[]string{"--p-values", "testdata/stats/p-values.txt"}, []string{"--p-values", "testdata/stats/bad.txt"}},
	"by":        {[]string{"--p-values", "testdata/stats/p-values.txt"}, []string{}},
	"holm":      {[]string{"--p-values", "testdata/stats/p-values.txt"}, []string{"--p-values", "testdata/stats/p-values-bad.txt"}},
	"tost-mean": {[]string{"--a", "testdata/stats/a.txt", "--b", "testdata/stats/b.txt", "--margin", "1", "--paired"}, []string{"--a", "testdata/stats/a.txt", "--b", "testdata/stats/b.txt", "--margin", "0"}},
	"tost-prop": {[]string{"--successes", "85", "--trials", "100", "--p0", "0.85", "--margin", "0.1"}, []string{"--successes", "3", "--trials", "10", "--margin", "0"}},
	"power":     {[]string{"--test", "two-proportions", "--p1", "0.5", "--p2", "0.75", "--power", "0.9"}, []string{"--test", "psychic"}},
	"sprt":      {[]string{"--p0", "0.99", "--p1", "0.9", "--a", "testdata/stats/outcomes.txt"}, []string{"--p0", "0.99", "--p1", "0.9", "--a", "testdata/stats/outcomes-bad.txt"}},
	"cs":        {[]string{"--successes", "30", "--trials", "100"}, []string{"--successes", "5", "--trials", "4"}},
	"ks":        {[]string{"--a", "testdata/stats/a.txt", "--b", "testdata/stats/c.txt"}, []string{"--a", "testdata/stats/a.txt", "--b", "testdata/stats/c.txt", "--alternative", "sideways"}},
	"mwu":       {[]string{"--a", "testdata/stats/a.txt", "--b", "testdata/stats/c.txt", "--alternative", "less"}, []string{"--a", "testdata/stats/a.txt", "--b", "testdata/stats/c.txt", "--method", "magic"}},
	"wilcoxon":  {[]string{"--a", "testdata/stats/a.txt", "--b", "testdata/stats/b.txt"}, []string{"--a", "testdata/stats/a.txt", "--b", "testdata/stats/c.txt"}},
	"ad":        {[]string{"--samples", "testdata/stats/a.txt,testdata/stats/b.txt,testdata/stats/c.txt", "--draws", "499", "--seed", "3"}, []string{"--samples", "testdata/stats/a.txt"}},
	"energy":    {[]string{"--a", "testdata/stats/a.txt", "--b", "testdata/stats/c.txt", "--draws", "499"}, []string{"--a", "testdata/stats/a.txt", "--b", "testdata/stats/c.txt", "--kernel", "linear"}},
	"mmd":       {[]string{"--a", "testdata/stats/labels-a.txt", "--b", "testdata/stats/labels-b.txt", "--kernel", "hamming", "--draws", "199", "--seed", "7"}, []string{"--a", "testdata/stats/a.txt", "--b", "testdata/stats/c.txt", "--draws", "0"}},
	"bootstrap": {[]string{"--a", "testdata/stats/a.txt", "--b", "testdata/stats/b.txt", "--draws", "2000", "--seed", "5"}, []string{"--a", "testdata/stats/a.txt", "--b", "testdata/stats/b.txt", "--conf", "95"}},
}

func TestGoldenStats(t *testing.T) {
	var cases []goldenCase
	for _, v := range statsfile.Tests() {
		c, ok := statsGoldenCases[v.Name]
		if !ok {
			t.Errorf("stats %s has no golden cases in statsGoldenCases", v.Name)
			continue
		}
		name := "stats-" + v.Name
		cases = append(cases,
			goldenCase{name + "-ok", append([]string{"stats", v.Name}, c.ok...), exitOK},
			goldenCase{name + "-bad", append([]string{"stats", v.Name}, c.bad...), exitUsage},
		)
	}
	if len(cases) != 2*len(statsGoldenCases) {
		t.Errorf("statsGoldenCases names a verb that does not exist")
	}
	cases = append(cases,
		goldenCase{"stats-binom-text", []string{"stats", "binom", "--successes", "7", "--trials", "20", "--format", "text"}, exitOK},
		goldenCase{"stats-ad-text", []string{"stats", "ad", "--samples", "testdata/stats/a.txt,testdata/stats/c.txt", "--draws", "0", "--format", "text"}, exitOK},
		goldenCase{"stats-chisq-text", []string{"stats", "chisq", "--a", "testdata/stats/labels-a.txt", "--b", "testdata/stats/labels-b.txt", "--format", "text"}, exitOK},
		goldenCase{"stats-chisq-table", []string{"stats", "chisq", "--table", "testdata/stats/table-3x4.txt"}, exitOK},
		goldenCase{"stats-gtest-table", []string{"stats", "gtest", "--table", "testdata/stats/table-3x4.txt", "--draws", "9999", "--seed", "4"}, exitOK},
		goldenCase{"stats-fisher-table", []string{"stats", "fisher", "--table", "testdata/stats/table-3x4.txt", "--format", "text"}, exitOK},
		goldenCase{"stats-fisher-table-mc", []string{"stats", "fisher", "--table", "testdata/stats/table-6x6.txt", "--draws", "2000", "--seed", "2"}, exitOK},
		goldenCase{"stats-fisher-table-too-large", []string{"stats", "fisher", "--table", "testdata/stats/table-6x6.txt", "--draws", "0"}, exitUsage},
		goldenCase{"stats-fisher-table-ragged", []string{"stats", "fisher", "--table", "testdata/stats/table-ragged.txt"}, exitUsage},
		goldenCase{"stats-fisher-max-work-bad", []string{"stats", "fisher", "--table", "testdata/stats/table-3x4.txt", "--max-work", "0"}, exitUsage},
		goldenCase{"stats-chisq-table-and-ab", []string{"stats", "chisq", "--table", "testdata/stats/table-3x4.txt", "--a", "testdata/stats/labels-a.txt"}, exitUsage},
		goldenCase{"stats-binom-bad-output", []string{"stats", "binom", "--successes", "7", "--trials", "20", "--format", "xml"}, exitUsage},
		// The old spelling of --format, kept one release with a warning.
		goldenCase{"stats-binom-old-output", []string{"stats", "binom", "--successes", "7", "--trials", "20", "--output", "json"}, exitOK},
		goldenCase{"stats-binom-bad-o", []string{"stats", "binom", "--successes", "7", "--trials", "20", "-o", "json"}, exitUsage},
	)
	runGolden(t, cases)
}

// TestGoldenVerbs: every verb but stats (see TestGoldenStats) has a bad
// input held to golden files, and a success where the output is the same on
// every machine (TestGoldenHelp holds their --help, TestGoldenWorkflow the
// invocations that need a store with records, suites and runs). The store
// they use is a fresh temporary one.
func TestGoldenVerbs(t *testing.T) {
	st := emptyStore(t, t.TempDir())
	runGolden(t, []goldenCase{
		{"root-unknown-verb", []string{"frobnicate"}, exitUsage},
		{"root-unknown-verb-suggestion", []string{"store", "verfy"}, exitUsage},
		{"version-extra-arg", []string{"version", "now"}, exitUsage},
		{"replay-no-record", []string{"replay"}, exitUsage},
		{"replay-bad-n", []string{"replay", "-n", "0", "testdata/records/valid.json"}, exitUsage},
		{"replay-bad-output", []string{"replay", "--format", "xml", "testdata/records/valid.json"}, exitUsage},
		{"verify-missing-file", []string{"--store", st, "verify", "testdata/records/absent.json"}, exitUsage},
		{"verify-no-such-store", []string{"--store", "/nonexistent/reprise-store", "verify", "testdata/records/valid.json"}, exitUsage},
		{"store-ls-no-such-store", []string{"--store", "/nonexistent/reprise-store", "store", "ls"}, exitUsage},
		{"verify-malformed", []string{"--store", st, "verify", "testdata/records/malformed.json"}, exitUsage},
		{"record-create-no-input", []string{"--store", st, "record", "create", "--image", "sha256:" + strings.Repeat("a", 64)}, exitUsage},
		{"record-create-tag", []string{"--store", st, "record", "create", "--input", "testdata/stats/a.txt", "--image", "loan:2.4.1",
			"--model", "testdata/stats/a.txt", "--config", "testdata/stats/b.txt", "--label", "x"}, exitIntegrity},
		{"record-create-reference-needs-capture", []string{"--store", st, "record", "create", "--input", "testdata/stats/a.txt", "--image", "sha256:" + strings.Repeat("a", 64),
			"--model", "testdata/stats/a.txt", "--config", "testdata/stats/b.txt", "--label", "x", "--reference-runs", "10"}, exitUsage},
		{"replay-bad-margin", []string{"replay", "x.json", "--margin", "1.5"}, exitUsage},
		// A missing record is named before a missing store, and its line
		// has no stray space where the request id would be.
		{"replay-missing-no-store", []string{"--store", "/nonexistent/reprise-store", "replay", "testdata/records/absent.json"}, exitUsage},
		{"replay-missing", []string{"--store", st, "replay", "testdata/records/absent.json"}, exitUsage},
		{"store-get-prefix-unknown", []string{"--store", st, "store", "get", "sha256:000000000000"}, exitUsage},
		{"store-put-ok", []string{"--store", st, "store", "put", "testdata/stats/a.txt"}, exitOK},
		{"store-put-missing", []string{"--store", st, "store", "put", "testdata/stats/absent.txt"}, exitUsage},
		{"store-get-bad-digest", []string{"--store", st, "store", "get", "sha256:xyz"}, exitUsage},
		{"env-bad-output", []string{"env", "--format", "yaml"}, exitUsage},
		{"env-old-output-yaml", []string{"env", "--output", "yaml"}, exitUsage},
	})
}

// emptyStore creates an empty store under dir and returns its path (read-only
// verbs refuse a store that does not exist).
func emptyStore(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "s")
	if _, err := store.Init(p); err != nil {
		t.Fatal(err)
	}
	return p
}
