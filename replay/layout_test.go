package replay_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/reprise-dev/reprise"

// TestImportGraph enforces the layout of DESIGN.md: stats imports nothing of
// the project; runners import nothing of the project but replay/digest (the
// shared type); evals imports only runners, stats and replay/digest; replay
// does not import evals' users or cmd; nothing imports cmd; fixtures are only
// imported by tests.
func TestImportGraph(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	allowed := func(from, to string) bool {
		top := func(p string) string {
			rest := strings.TrimPrefix(p, module+"/")
			first, _, _ := strings.Cut(rest, "/")
			return first
		}
		if to == module+"/replay/digest" {
			return top(from) != "stats"
		}
		switch top(from) {
		case "stats":
			return false
		case "runners":
			return top(to) == "runners"
		case "evals":
			return top(to) == "evals" || top(to) == "runners" || top(to) == "stats"
		case "replay":
			return top(to) != "cmd" && top(to) != "fixtures"
		case "fixtures":
			return top(to) == "fixtures" || top(to) == "runners"
		case "cmd":
			return top(to) != "cmd" && top(to) != "fixtures"
		}
		return false
	}
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
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			if !allowed(p.ImportPath, imp) {
				t.Errorf("%s must not import %s", p.ImportPath, imp)
			}
		}
	}
	if n < 5 {
		t.Fatalf("only %d packages listed", n)
	}
}

// TestStatsImportsOnlyStdlibAndGonum: the stats package stays pure.
func TestStatsImportsOnlyStdlibAndGonum(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, module+"/stats").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, imp := range strings.Fields(string(out)) {
		if strings.Contains(imp, ".") && !strings.HasPrefix(imp, "gonum.org/v1/gonum/") {
			t.Errorf("stats imports %s", imp)
		}
	}
}
