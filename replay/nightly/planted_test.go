package nightly

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/fixtures/decisionlog"
	"github.com/reprise-dev/reprise/fixtures/gobuild"
	"github.com/reprise-dev/reprise/ingest"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/render"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/runners/hwclass"
	"github.com/reprise-dev/reprise/runners/process"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/system"
	"github.com/reprise-dev/reprise/verdict"
)

// The planted-divergence quality bar of issue 12: seeded logs of
// plantedRows rows, plantedShare of them planted (decisions served by model
// 2.4.2 while the log says 2.4.1), plantedNights different seeds.
const (
	plantedRows   = 2000
	plantedShare  = 0.02
	plantedNights = 20
	// The bars: at least minFound of the planted rows DIVERGED after the
	// night's FDR control, and the observed false-discovery proportion,
	// averaged over the nights, at most the night's --fdr.
	minFound = 0.95
)

// plantedFigures are the outcomes of planted nights.
type plantedFigures struct {
	nights, planted, found int
	// fdpSum is the sum over the nights of the false-discovery proportion
	// V/max(R, 1) (false discoveries V among R DIVERGED records).
	fdpSum float64
}

func (f plantedFigures) foundShare() float64 { return float64(f.found) / float64(f.planted) }
func (f plantedFigures) meanFDP() float64    { return f.fdpSum / float64(f.nights) }

// TestPlantedDivergences runs the planted nights at the default settings of
// `reprise nightly` (no -n: sequential replays, then confirming replays;
// --fdr 0.05; every record of the log) through the process runner with the
// fixture loan server (the code path of the docker runner minus the
// container), and holds the outcome to the bars. Every random source is
// seeded (the log by its seed, each replay's fresh seeds by its request id,
// the loan server by the run seed), so the figures are the same on every
// run: the test is deterministic, not a draw.
//
// The 20 nights replay 40000 records and about 3 million runs: tens of
// minutes on 2 cores, too long for `make test`. They run when
// REPRISE_TEST_QUALITY=1:
//
//	REPRISE_TEST_QUALITY=1 go test ./replay/nightly -run TestPlantedDivergences -v -timeout 90m
//
// Without it, this test holds one night of 500 rows (seed 1) to the same
// bars, in seconds.
func TestPlantedDivergences(t *testing.T) {
	if testing.Short() {
		t.Skip("the planted-divergence quality bar replays nights of 2000 records; skipped with -short")
	}
	nights, rows := plantedNights, plantedRows
	if os.Getenv("REPRISE_TEST_QUALITY") != "1" {
		nights, rows = 1, 500
		t.Logf("REPRISE_TEST_QUALITY is not 1: one night of %d rows, not %d of %d", rows, plantedNights, plantedRows)
	}
	f := runPlanted(t, rows, seqSeeds(nights)...)
	t.Logf("planted divergences, %d nights of %d rows (%.0f%% planted): %d of %d planted rows found DIVERGED after BH (%.1f%%); mean false-discovery proportion %.4f (fdr %g)",
		f.nights, rows, 100*plantedShare, f.found, f.planted, 100*f.foundShare(), f.meanFDP(), defaultFDR)
	if want := nights * int(float64(rows)*plantedShare); f.planted != want {
		t.Fatalf("%d planted rows over %d nights, want %d", f.planted, f.nights, want)
	}
	if f.foundShare() < minFound {
		t.Errorf("found %.1f%% of the planted rows, want at least %.0f%%", 100*f.foundShare(), 100*minFound)
	}
	if f.meanFDP() > defaultFDR {
		t.Errorf("mean false-discovery proportion %.4f, want at most %g", f.meanFDP(), defaultFDR)
	}
}

// defaultFDR is nightly's default --fdr (Run's default for FDR 0).
const defaultFDR = 0.05

// plantedParallel is how many planted nights run at once: a night mostly
// waits on the loan server's pipe and on fsync, so nights overlap well.
const plantedParallel = 3

// plantedNight is one planted night's outcome.
type plantedNight struct {
	planted, found, discoveries int
	missed                      []string
}

// runPlanted runs the planted nights of the given seeds, plantedParallel at
// a time.
func runPlanted(tb testing.TB, rows int, seeds ...uint64) plantedFigures {
	tb.Helper()
	ctx := context.Background()
	bin := buildLoanserver(tb)
	hw := hwclass.Detect(ctx)
	nights := make([]plantedNight, len(seeds))
	errs := make([]error, len(seeds))
	logs := make([]string, len(seeds))
	planted := make([]map[string]bool, len(seeds))
	stores := make([]*store.Mem, len(seeds))
	for i, seed := range seeds {
		stores[i], logs[i], planted[i] = plantedLog(tb, seed, hw, rows)
	}
	sem := make(chan struct{}, plantedParallel)
	var wg sync.WaitGroup
	for i, seed := range seeds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			nights[i], errs[i] = runPlantedNight(ctx, stores[i], logs[i], planted[i], seed, rows, hw, bin, filepath.Join(tb.TempDir(), "night"))
		}()
	}
	wg.Wait()
	var f plantedFigures
	for i, seed := range seeds {
		if errs[i] != nil {
			tb.Fatalf("night %d: %v", seed, errs[i])
		}
		n := nights[i]
		for _, m := range n.missed {
			tb.Logf("night %d: planted %s", seed, m)
		}
		tb.Logf("night %d: %d of %d planted found, %d false discoveries", seed, n.found, n.planted, n.discoveries-n.found)
		f.nights++
		f.planted += n.planted
		f.found += n.found
		f.fdpSum += float64(n.discoveries-n.found) / float64(max(n.discoveries, 1))
	}
	return f
}

// runPlantedNight runs one planted night at the default settings of
// `reprise nightly` and counts the planted rows found and the discoveries.
func runPlantedNight(ctx context.Context, st *store.Mem, log string, planted map[string]bool, seed uint64, rows int, hw, bin, out string) (plantedNight, error) {
	var pn plantedNight
	night, err := Run(ctx, st, Options{
		Log: log, Out: out, Seed: seed,
		// What `reprise nightly` passes without -n: sequential replays
		// (each record stops once its verdict is settled), at most
		// verdict.DefaultMaxRuns runs, the default verdict rules; the
		// default confirming replays (ConfirmN 0) and --fdr (FDR 0).
		Replay:    replay.Options{N: 100, Sequential: true, MaxRuns: verdict.DefaultMaxRuns, Rules: verdict.DefaultRules(), Launch: launch.Options{HostClass: hw}},
		NewRunner: func(context.Context) (replay.Runner, error) { return &process.Runner{Entrypoint: bin}, nil },
	})
	if err != nil {
		return pn, err
	}
	if len(night.Records) != rows {
		return pn, fmt.Errorf("%d records, want %d", len(night.Records), rows)
	}
	pn.planted = len(planted)
	for _, r := range night.Records {
		switch {
		case r.Verdict == verdict.Failed:
			return pn, fmt.Errorf("%s: %s", r.RequestID, r.Error)
		case r.Verdict == verdict.Diverged:
			pn.discoveries++
			if planted[r.RequestID] {
				pn.found++
			}
		case planted[r.RequestID]:
			pn.missed = append(pn.missed, fmt.Sprintf("%s missed: replay %s, p %s (%s), q %s, labels %v, stored score %s",
				r.RequestID, r.ReplayVerdict, render.OptFloat(r.PValue, "%.3g"), r.PTest, render.OptFloat(r.QValue, "%.3g"), r.Labels, render.OptFloat(r.Stored.Score, "%.3g")))
		}
	}
	return pn, nil
}

// plantedLog generates the seeded log, puts its models, config and inputs
// into a store, imports it through its version map (as `reprise record
// import --strict` does) and writes the Parquet decision log of records.
func plantedLog(tb testing.TB, seed uint64, hw string, rows int) (*store.Mem, string, map[string]bool) {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	gl, err := decisionlog.Generate(decisionlog.Options{Rows: rows, Planted: plantedShare, Seed: seed,
		Image: system.ImageRef{Digest: digest.MustParse("sha256:" + strings.Repeat("0", 64))}, Fixtures: fixturesDir,
		Out: filepath.Join(dir, "log"), HardwareClass: hw})
	if err != nil {
		tb.Fatal(err)
	}
	st := store.NewMem()
	files, _ := filepath.Glob(filepath.Join(gl.Dir, decisionlog.InputsDir, "*.json"))
	files = append(files, filepath.Join(fixturesDir, "models", "loan-approver-2.4.1.safetensors"),
		filepath.Join(fixturesDir, "models", "loan-approver-2.4.2.safetensors"), filepath.Join(fixturesDir, "configs", "loan-params-3.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := st.PutBytes(ctx, b, store.Meta{}); err != nil {
			tb.Fatal(err)
		}
	}
	vm, err := ingest.LoadVersionMap(filepath.Join(gl.Dir, decisionlog.VersionsFile))
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, "records.parquet")
	pf, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer pf.Close()
	w := record.NewParquetWriter(pf)
	im := &ingest.Importer{Map: vm, Inputs: st}
	err = im.Import(ctx, filepath.Join(gl.Dir, decisionlog.DecisionsFile), func(line int64, rec *record.Record, rowErr error) bool {
		if rowErr == nil {
			rowErr = w.Write(rec)
		}
		if rowErr != nil {
			tb.Fatalf("log line %d: %v", line, rowErr)
		}
		return true
	})
	if err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	planted := map[string]bool{}
	for _, id := range gl.Planted {
		planted[id] = true
	}
	return st, path, planted
}

// seqSeeds are the seeds 1..n.
func seqSeeds(n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = uint64(i + 1)
	}
	return s
}

// fixturesDir is the repository's fixtures folder, seen from this package.
var fixturesDir = filepath.Join("..", "..", "fixtures")

// buildLoanserver builds the fixture loan server (fixtures/loanserver).
func buildLoanserver(tb testing.TB) string {
	tb.Helper()
	return gobuild.Build(tb, "./fixtures/loanserver")
}
