package statsfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/stats"
)

// fisherRun runs fisher on the table text with max-work and draws.
func fisherRun(t *testing.T, table string, maxWork, draws int) (any, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "table.txt")
	if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	fisher := lookup(t, "fisher")
	var p Params
	fisher.AddFlags(&p, &flagRecorder{})
	if p.MaxWork != stats.MaxFisherWork {
		t.Errorf("--max-work defaults to %d, want %d", p.MaxWork, stats.MaxFisherWork)
	}
	p.Table, p.MaxWork, p.Draws = path, maxWork, draws
	return fisher.Run(&p)
}

// A 5×5 table with N = 82: exact within the default limit (R's
// fisher.test(matrix(c(10, 0, 2, 5, 0, 5, 2, 2, 5, 4, 6, 0, 4, 7, 0, 4, 1,
// 0, 11, 3, 7, 0, 0, 4, 0), 5, byrow = TRUE))$p.value = 0.029224871237758247).
const fisherTable5x5 = "10 0 2 5 0\n5 2 2 5 4\n6 0 4 7 0\n4 1 0 11 3\n7 0 0 4 0\n"

// TestFisherMaxWork: --max-work bounds the exact test; past it the error
// (--draws 0, ErrMethod: exit 2) or the Monte-Carlo warning names the limit
// and the flag; --max-work < 1 is ErrInput (exit 2).
func TestFisherMaxWork(t *testing.T) {
	r, err := fisherRun(t, fisherTable5x5, stats.MaxFisherWork, 0)
	if err != nil {
		t.Fatal(err)
	}
	if f := r.(FisherResult); f.Draws != 0 || f.PValue < 0.029224871237758247*(1-1e-9) || f.PValue > 0.029224871237758247*(1+1e-9) {
		t.Errorf("default limit: %+v, want R's exact 0.029224871237758247", f)
	}

	_, err = fisherRun(t, fisherTable5x5, 1000, 0)
	const msg = "stats: method not applicable: the exact test of this 5×5 table (N = 82) would take more than 1000 steps (the work limit): raise --max-work (now 1000) for the exact test, or give --draws N > 0 for a Monte-Carlo p-value"
	if !errors.Is(err, stats.ErrMethod) || err.Error() != msg {
		t.Errorf("--max-work 1000 --draws 0: %v, want ErrMethod %q", err, msg)
	}

	r, err = fisherRun(t, fisherTable5x5, 1000, 500)
	if err != nil {
		t.Fatal(err)
	}
	if f := r.(FisherResult); f.Draws != 500 || len(f.Warnings) != 2 ||
		!strings.Contains(f.Warnings[0], "more than 1000 steps (the work limit)") || f.Warnings[1] != "raise --max-work (now 1000) for the exact p-value" {
		t.Errorf("--max-work 1000 --draws 500: %+v", f)
	}

	_, err = fisherRun(t, fisherTable5x5, 0, 500)
	if !errors.Is(err, ErrInput) || err.Error() != "--max-work must be >= 1, got 0" {
		t.Errorf("--max-work 0: %v, want ErrInput", err)
	}
}
