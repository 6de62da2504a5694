package reprise

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/reprise-dev/reprise"

// allowed is the import allow-list: for each package (by module-relative
// path), the packages of the module it may import. A key or an entry "x"
// is the package x alone; "x/..." is x and every package below it (as in
// go list patterns). Every package of the module has a rule, runners has one
// per package; there are no exceptions: a new arrow means a new line here,
// reviewed. The README's Layout table states the same graph
// (TestREADMELayoutAgrees).
var allowed = map[string][]string{
	"":        {},
	"digest":  {},
	"output":  {},
	"journal": {},
	"render":  {},
	// buildinfo says which reprise this is (runtime/debug build info).
	"buildinfo": {},
	// stdlog routes the standard library's default logger into slog.
	"stdlog": {"render"},
	// fsread opens the files users name: regular files, bounded, stopped
	// by a context.
	"fsread": {},
	"stats":  {},
	// stats/statsfile runs the stats tests on samples read from files.
	"stats/statsfile": {"stats"},
	"system":          {"digest"},
	"store":           {"digest", "fsread", "journal"},
	// storetest is the conformance suite every store passes.
	"store/storetest": {"digest", "store"},
	"record":          {"digest", "output", "system"},
	// parquettest builds hostile Parquet files for the readers' tests.
	"record/parquettest": {},
	// ingest reads production decision logs into records.
	"ingest": {"buildinfo", "digest", "fsread", "output", "system", "store", "record"},

	// runners: the shared types; the codecs (jsonl, openai, kserve), which
	// never import a lifecycle; wire, which maps protocol names to codecs;
	// the HTTP session machinery; the lifecycles (docker, process,
	// endpoint); the conformance suite.
	"runners":            {"output", "system"},
	"runners/hwclass":    {},
	"runners/jsonl":      {"output", "runners"},
	"runners/openai":     {"system", "runners"},
	"runners/kserve":     {"runners"},
	"runners/wire":       {"runners", "runners/jsonl", "runners/openai", "runners/kserve"},
	"runners/httpsess":   {"runners"},
	"runners/docker":     {"journal", "system", "runners", "runners/jsonl", "runners/httpsess", "runners/hwclass"},
	"runners/process":    {"runners", "runners/jsonl"},
	"runners/endpoint":   {"runners", "runners/httpsess"},
	"runners/runnertest": {"output", "system", "runners", "runners/jsonl"},

	"verdict": {"output", "stats"},
	"launch":  {"digest", "system", "record", "runners", "runners/hwclass", "runners/wire"},
	"capture": {"buildinfo", "digest", "fsread", "output", "system", "store", "record", "runners", "launch"},
	// capture/proxy is the recording proxy of capture serve.
	"capture/proxy": {"buildinfo", "digest", "journal", "system", "store", "record", "runners", "runners/wire", "launch"},
	// runopts checks the runner options users give and builds the runner
	// and the session settings they select.
	"runopts": {"system", "record", "runners", "runners/docker", "runners/process", "runners/endpoint", "runners/hwclass", "launch"},
	// replay replays records; replay/nightly replays samples of decision logs.
	"replay":         {"buildinfo", "digest", "output", "journal", "render", "system", "store", "record", "runners", "runners/hwclass", "launch", "verdict", "stats"},
	"replay/nightly": {"buildinfo", "digest", "fsread", "output", "journal", "render", "system", "store", "record", "ingest", "runners", "launch", "verdict", "stats", "replay"},
	// replay/counterfactual: a record replayed against another system, and attribution.
	"replay/counterfactual": {"output", "journal", "render", "record", "runners", "launch", "verdict", "stats", "replay"},
	// replay/compare replays a sample of a log under two systems.
	"replay/compare": {"digest", "output", "journal", "render", "record", "ingest", "launch", "verdict", "stats", "replay", "replay/nightly"},
	"evals":          {"buildinfo", "digest", "fsread", "output", "journal", "system", "store", "record", "runners", "launch", "verdict", "stats"},
	"cmd/reprise": {"buildinfo", "digest", "fsread", "output", "journal", "render", "system", "store", "record", "ingest", "runners/...", "stats", "stats/statsfile", "verdict",
		"launch", "capture", "capture/proxy", "runopts", "stdlog", "replay/...", "evals"},
	"fixtures/...": {"digest", "system", "fixtures/..."},
}

// pending are arrows the code still has that the layout no longer permits
// (the README states the target): each line goes with the change that
// removes its arrow, and TestImportGraph fails once the arrow is gone.
var pending = map[string][]string{}

// The runners packages by role: a codec never imports a lifecycle (nor
// the HTTP session machinery they share).
var (
	codecs     = []string{"runners/jsonl", "runners/openai", "runners/kserve"}
	lifecycles = []string{"runners/docker", "runners/process", "runners/endpoint", "runners/httpsess"}
)

// matches reports whether the pattern p ("x" or "x/...") covers rel.
func matches(p, rel string) bool {
	if base, ok := strings.CutSuffix(p, "/..."); ok {
		return rel == base || strings.HasPrefix(rel, base+"/")
	}
	return rel == p
}

// rule returns the allow-list key covering rel: its own, else the longest
// "x/..." pattern that covers it.
func rule(rel string) (string, bool) {
	if _, ok := allowed[rel]; ok {
		return rel, true
	}
	best, found := "", false
	for k := range allowed {
		if strings.HasSuffix(k, "/...") && matches(k, rel) && (!found || len(k) > len(best)) {
			best, found = k, true
		}
	}
	return best, found
}

func covers(list []string, rel string) bool {
	return slices.ContainsFunc(list, func(p string) bool { return matches(p, rel) })
}

// TestImportGraph holds every package of the module to its allow-list.
func TestImportGraph(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	used := map[string]bool{} // pending arrows still in the code, "from -> to"
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		n++
		from := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		key, ok := rule(from)
		if !ok {
			t.Errorf("package %s has no rule in the import allow-list", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			to := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			switch {
			case covers(allowed[key], to):
			case covers(pending[key], to):
				used[key+" -> "+to] = true
			default:
				t.Errorf("%s must not import %s (allowed: %v)", p.ImportPath, imp, allowed[key])
			}
		}
	}
	if n < 15 {
		t.Fatalf("only %d packages listed", n)
	}
	for from, tos := range pending {
		for _, to := range tos {
			if !used[from+" -> "+to] {
				t.Errorf("%s no longer imports %s: drop its line from pending in layout_test.go", from, to)
			}
		}
	}
}

// TestLeavesImportOnlyTheStandardLibrary: digest, output, journal and render import no
// module at all; stats only gonum; stats/statsfile only stats; system only digest and
// the reference grammar.
func TestLeavesImportOnlyTheStandardLibrary(t *testing.T) {
	extra := map[string][]string{
		"digest":  nil,
		"output":  nil,
		"journal": nil,
		"render":  nil,
		"stats":   {"gonum.org/v1/gonum/"},
		// statsfile: stats and the standard library, no CLI framework.
		"stats/statsfile": {module + "/stats"},
		"system":          {module + "/digest", "github.com/distribution/reference"},
	}
	for pkg, ok := range extra {
		out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, module+"/"+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, imp := range strings.Fields(string(out)) {
			first, _, _ := strings.Cut(imp, "/")
			if !strings.Contains(first, ".") {
				continue // standard library
			}
			good := false
			for _, o := range ok {
				good = good || strings.HasPrefix(imp, o)
			}
			if !good {
				t.Errorf("%s imports %s", pkg, imp)
			}
		}
	}
}

// TestAllowListRefusesUpwardArrows checks the checker: arrows that would
// point up the layout are refused by the rules above.
func TestAllowListRefusesUpwardArrows(t *testing.T) {
	for _, c := range []struct{ from, to string }{
		{"stats", "verdict"}, {"digest", "system"}, {"system", "record"}, {"record", "runners"},
		{"runners/docker", "replay"}, {"runners", "store"}, {"runners", "runners/jsonl"}, {"verdict", "replay"},
		{"launch", "replay"}, {"launch", "runners/docker"}, {"store", "record"}, {"evals", "replay"},
		{"replay", "evals"}, {"replay", "cmd/reprise"}, {"capture", "replay"}, {"journal", "store"},
		{"runners/wire", "runners/docker"}, {"fixtures/loan", "runners"},
	} {
		key, ok := rule(c.from)
		if !ok {
			t.Fatalf("no rule for %s", c.from)
		}
		if covers(allowed[key], c.to) {
			t.Errorf("%s may import %s", c.from, c.to)
		}
	}
	if key, _ := rule("runners/docker"); !covers(allowed[key], "runners/jsonl") {
		t.Error("runners/docker may not import runners/jsonl")
	}
	if key, _ := rule("fixtures/loanserver"); key != "fixtures/..." {
		t.Errorf("fixtures/loanserver is held to %q", key)
	}
	if _, ok := rule("runners/new"); ok {
		t.Error("a new runners package is covered without a rule of its own")
	}
}

// TestCodecsDoNotImportLifecycles: a codec speaks a protocol and never
// reaches for the lifecycle that carries it.
func TestCodecsDoNotImportLifecycles(t *testing.T) {
	for _, c := range codecs {
		if _, ok := allowed[c]; !ok {
			t.Errorf("codec %s has no rule", c)
		}
		for _, l := range lifecycles {
			if _, ok := allowed[l]; !ok {
				t.Errorf("lifecycle %s has no rule", l)
			}
			if covers(allowed[c], l) {
				t.Errorf("codec %s may import %s", c, l)
			}
		}
	}
}

// layoutTable reads the README's Layout table: for each package (or
// pattern) named in the first column, the packages named in the third
// ("may import"), each in backquotes; text outside backquotes (nothing,
// standard library, gonum) names none.
func layoutTable(readme string) (map[string][]string, error) {
	_, after, ok := strings.Cut(readme, "\n## Layout\n")
	if !ok {
		return nil, fmt.Errorf("no section ## Layout")
	}
	if i := strings.Index(after, "\n## "); i >= 0 {
		after = after[:i]
	}
	rows := map[string][]string{}
	header := false
	for _, line := range strings.Split(after, "\n") {
		if !strings.HasPrefix(line, "|") {
			if header {
				break // the end of the table
			}
			continue
		}
		cells := tableCells(line)
		if !header {
			if len(cells) != 3 || strings.TrimSpace(cells[0]) != "package" || !strings.HasPrefix(strings.TrimSpace(cells[2]), "may import") {
				return nil, fmt.Errorf("the Layout table's header is %q, want | package | role | may import … |", line)
			}
			header = true
			continue
		}
		if strings.Trim(line, "|-: ") == "" {
			continue // the delimiter row
		}
		if len(cells) != 3 {
			return nil, fmt.Errorf("row %q has %d cells, want 3", line, len(cells))
		}
		imports := quoted(cells[2])
		for _, p := range quoted(cells[0]) {
			if _, dup := rows[p]; dup {
				return nil, fmt.Errorf("%s has two rows", p)
			}
			rows[p] = imports
		}
	}
	if !header {
		return nil, fmt.Errorf("no table in ## Layout")
	}
	return rows, nil
}

// tableCells splits a Markdown table row into its cells; a | inside
// backquotes does not split.
func tableCells(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(strings.TrimSuffix(line, "|"), "|")
	var cells []string
	var cur strings.Builder
	code := false
	for _, r := range line {
		switch {
		case r == '`':
			code = !code
		case r == '|' && !code:
			cells = append(cells, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteRune(r)
	}
	return append(cells, cur.String())
}

// quoted returns the backquoted words of s.
func quoted(s string) []string {
	parts := strings.Split(s, "`")
	out := []string{}
	for i := 1; i < len(parts); i += 2 {
		out = append(out, parts[i])
	}
	return out
}

// TestREADMELayoutAgrees holds the README's Layout table to the allow-list:
// the same packages, each with the same imports (as go-containerregistry's
// internal/depcheck holds its graph in one place).
func TestREADMELayoutAgrees(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := layoutTable(string(b))
	if err != nil {
		t.Fatal(err)
	}
	for pkg, list := range allowed {
		if pkg == "" {
			continue // the module's root package: its doc and these tests
		}
		got, ok := rows[pkg]
		if !ok {
			t.Errorf("README: the Layout table has no row for %s (allow-list: %v)", pkg, list)
			continue
		}
		a, r := slices.Sorted(slices.Values(list)), slices.Sorted(slices.Values(got))
		if !slices.Equal(a, r) {
			t.Errorf("README: %s may import %v, the allow-list says %v", pkg, r, a)
		}
	}
	for pkg := range rows {
		if _, ok := allowed[pkg]; !ok {
			t.Errorf("README: the Layout table has a row for %s, the allow-list has no rule", pkg)
		}
	}
}

// TestLayoutTableParser checks the parser on a table of its own.
func TestLayoutTableParser(t *testing.T) {
	readme := "# x\n\n## Layout\n\ntext\n\n| package | role | may import (of reprise) |\n|---|---|---|\n" +
		"| `a`, `b` | leaves, `--format text|json` | nothing |\n" +
		"| `c/...` | the `C` type | `a`, `b` (not d) |\n\nafter `e`\n\n## Next\n| `f` | g | `h` |\n"
	rows, err := layoutTable(readme)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"a": {}, "b": {}, "c/...": {"a", "b"}}
	if len(rows) != len(want) {
		t.Fatalf("rows %v", rows)
	}
	for k, v := range want {
		if !slices.Equal(rows[k], v) {
			t.Errorf("%s: %v, want %v", k, rows[k], v)
		}
	}
	if _, err := layoutTable("## Layout\n\n| pkg | role |\n"); err == nil {
		t.Error("a table with another header was read")
	}
}
