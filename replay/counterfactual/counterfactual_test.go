package counterfactual

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/verdict"
)

var (
	m241 = model{labels: []string{"approved", "referred", "denied"}, probs: []float64{0.85, 0.15, 0}}
	m242 = model{labels: []string{"approved", "referred", "denied"}, probs: []float64{0.3, 0.1, 0.6}}
)

func hostOpts() replay.Options {
	o := replay.Options{Sequential: true}
	o.Launch.HostClass = hw
	return o
}

// The post-mortem, with fake systems: a record logged as 2.4.1 whose
// stored output 2.4.2 decided at seed 42.
func TestAgainstPostMortem(t *testing.T) {
	w := newWorld(t, map[string]model{"2.4.1": m241, "2.4.1-sibling": m241, "2.4.2": m242})
	seed := int64(42)
	l, s := m242.answer(seed)
	rec := w.record("2.4.1", &seed, l, s)
	ctx := context.Background()
	for _, tc := range []struct {
		against string
		want    verdict.Sameness
	}{{"2.4.2", verdict.Different}, {"2.4.1-sibling", verdict.Same}} {
		t.Run(tc.against, func(t *testing.T) {
			pool := w.pool()
			defer pool.Close(ctx)
			res, err := Against(ctx, w.st, rec, w.system(tc.against), pool, hostOpts())
			if err != nil {
				t.Fatal(err)
			}
			rep := res.Report
			if rep.Verdict != tc.want {
				t.Fatalf("verdict %s, want %s: %v", rep.Verdict, tc.want, rep.Comparison.Reasons)
			}
			if len(rep.Systems) != 2 || rep.Systems[0].Role != "recorded" || rep.Systems[1].Source != tc.against+".json" {
				t.Fatalf("systems %+v", rep.Systems)
			}
			// the pinned seed: 2.4.1 does not give the stored output back; 2.4.2 does
			if rep.Systems[0].Exact == nil || rep.Systems[0].Exact.ExactMatch {
				t.Errorf("2.4.1's pinned seed: %+v", rep.Systems[0].Exact)
			}
			if got := rep.Systems[1].Exact.ExactMatch; got != (tc.against == "2.4.2") {
				t.Errorf("%s's pinned seed exact match %v", tc.against, got)
			}
			dir := filepath.Join(t.TempDir(), "out")
			if err := res.WriteFiles(dir); err != nil {
				t.Fatal(err)
			}
			runs, err := ReadRuns(filepath.Join(dir, "runs.parquet"))
			if err != nil {
				t.Fatal(err)
			}
			per := map[string]int{}
			for _, r := range runs {
				per[r.System]++
			}
			if len(runs) != len(res.Runs) || per[rec.System.ID.String()] == 0 || per[w.sys(tc.against).ID.String()] == 0 {
				t.Errorf("runs.parquet: %d rows, per system %v", len(runs), per)
			}
		})
	}
}

func TestAttributePostMortem(t *testing.T) {
	w := newWorld(t, map[string]model{"2.4.1": m241, "2.4.2": m242})
	ctx := context.Background()
	seed := int64(42)
	l, s := m242.answer(seed)
	t.Run("dishonest", func(t *testing.T) {
		rec := w.record("2.4.1", &seed, l, s)
		pool := w.pool()
		defer pool.Close(ctx)
		res, err := Attribute(ctx, w.st, rec, []System{w.system("2.4.1"), w.system("2.4.2")}, pool, hostOpts())
		if err != nil {
			t.Fatal(err)
		}
		rep := res.Report
		if len(rep.Candidates) != 2 || rep.Candidates[0].Also[0] != "2.4.1.json" {
			t.Fatalf("candidates: %+v", rep.Candidates)
		}
		if len(rep.Set) != 1 || rep.Set[0] != w.sys("2.4.2").ID.String() || rep.Recorded != verdict.Diverged {
			t.Fatalf("set %v, recorded %s: %v", rep.Set, rep.Recorded, rep.Reasons)
		}
		if rep.Level != rep.Alpha/2 {
			t.Errorf("level %g, alpha %g", rep.Level, rep.Alpha)
		}
	})
	t.Run("honest", func(t *testing.T) {
		l, s := m241.answer(seed)
		rec := w.record("2.4.1", &seed, l, s)
		pool := w.pool()
		defer pool.Close(ctx)
		res, err := Attribute(ctx, w.st, rec, []System{w.system("2.4.2")}, pool, hostOpts())
		if err != nil {
			t.Fatal(err)
		}
		rep := res.Report
		if rep.Recorded != verdict.Reproduced || !rep.Candidates[0].InSet || rep.Candidates[0].Rank != 1 {
			t.Fatalf("recorded %s, candidates %+v", rep.Recorded, rep.Candidates)
		}
	})
	t.Run("protocol", func(t *testing.T) {
		rec := w.record("2.4.1", &seed, l, s)
		other := w.system("2.4.2")
		other.Target.Protocol = "openai"
		pool := w.pool()
		defer pool.Close(ctx)
		if _, err := Attribute(ctx, w.st, rec, []System{other}, pool, hostOpts()); err == nil || !errorsIs(err, ErrProtocol) {
			t.Fatalf("err %v, want ErrProtocol", err)
		}
	})
}
