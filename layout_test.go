package reprise

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/reprise-dev/reprise"

// allowed is the import allow-list: for each package (by module-relative
// path; a rule for "runners" covers runners/...), the project packages it
// may import (again covering sub-packages). There are no exceptions: a new
// arrow means a new line here, reviewed.
var allowed = map[string][]string{
	"":         {},
	"digest":   {},
	"output":   {},
	"stats":    {},
	"journal":  {},
	"system":   {"digest"},
	"store":    {"digest", "journal", "store"},
	"record":   {"digest", "output", "system"},
	"runners":  {"digest", "output", "system", "journal", "runners"},
	"verdict":  {"output", "stats"},
	"launch":   {"digest", "system", "record", "runners"},
	"capture":  {"digest", "output", "system", "store", "record", "runners", "launch"},
	"replay":   {"digest", "output", "system", "journal", "store", "record", "runners", "launch", "verdict", "stats", "evals"},
	"evals":    {"digest", "output", "system", "store", "record", "runners", "launch", "verdict", "stats", "evals"},
	"cmd":      {"digest", "output", "system", "journal", "store", "record", "runners", "launch", "verdict", "stats", "capture", "replay", "evals", "ingest"},
	"fixtures": {"digest", "output", "system", "runners", "fixtures"},
	// ingest reads production decision logs into records; replay/nightly
	// replays samples of them.
	"ingest":         {"digest", "output", "system", "store", "record"},
	"replay/nightly": {"digest", "output", "system", "journal", "store", "record", "runners", "launch", "verdict", "stats", "replay", "ingest"},
}

// rule returns the allow-list entry covering rel (the longest matching key).
func rule(rel string) (string, bool) {
	best, found := "", false
	for k := range allowed {
		if rel == k || k != "" && strings.HasPrefix(rel, k+"/") || k == "" && rel == "" {
			if !found || len(k) > len(best) {
				best, found = k, true
			}
		}
	}
	return best, found
}

func covers(list []string, rel string) bool {
	for _, a := range list {
		if rel == a || strings.HasPrefix(rel, a+"/") {
			return true
		}
	}
	return false
}

// TestImportGraph holds every package of the module to its allow-list.
func TestImportGraph(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
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
			if !covers(allowed[key], to) {
				t.Errorf("%s must not import %s (allowed: %v)", p.ImportPath, imp, allowed[key])
			}
		}
	}
	if n < 15 {
		t.Fatalf("only %d packages listed", n)
	}
}

// TestLeavesImportOnlyTheStandardLibrary: digest, output and journal import no
// module at all; stats only gonum; system only digest and the reference grammar.
func TestLeavesImportOnlyTheStandardLibrary(t *testing.T) {
	extra := map[string][]string{
		"digest":  nil,
		"output":  nil,
		"journal": nil,
		"stats":   {"gonum.org/v1/gonum/"},
		"system":  {module + "/digest", "github.com/distribution/reference"},
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
		{"runners/docker", "replay"}, {"runners", "store"}, {"verdict", "replay"}, {"launch", "replay"},
		{"store", "record"}, {"evals", "replay"}, {"replay", "cmd/reprise"}, {"capture", "replay"},
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
}
