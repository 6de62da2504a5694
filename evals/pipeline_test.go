package evals

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/fixtures/gobuild"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/jsonl"
	"github.com/reprise-dev/reprise/runners/process"
)

// loanFixture builds the fixture loan approver and returns a starter of
// process-runner sessions on it with the stdio window w.
func loanFixture(tb testing.TB) func(w int) runners.Session {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..")
	bin := gobuild.Build(tb, "./fixtures/loanserver")
	model := filepath.Join(root, "fixtures", "models", "loan-approver-2.4.1.safetensors")
	config := filepath.Join(root, "fixtures", "configs", "loan-params-3.json")
	return func(w int) runners.Session {
		s, err := (&process.Runner{Entrypoint: bin}).Start(context.Background(), runners.Spec{ModelPath: model, ConfigPath: config, Codec: jsonl.Codec{}, Window: w})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close(context.Background()) })
		return s
	}
}

// loanSuite is n items of the loan approver's inputs (credit scores from
// 560 up), each with the reference "approved".
func loanSuite(tb testing.TB, n int) *Suite {
	tb.Helper()
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, `{"id":"i%d","input":{"income":58,"debt_ratio":0.33,"credit_score":%d,"years_employed":4,"loan_amount":22},"reference":"approved"}`+"\n", i, 560+i%300)
	}
	dir := tb.TempDir()
	os.WriteFile(filepath.Join(dir, SpecFile), []byte(labelSpec), 0o644)
	os.WriteFile(filepath.Join(dir, ItemsFile), []byte(sb.String()), 0o644)
	s, err := LoadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// withoutLatency is rows with latency_ns zeroed: the only field that may
// differ between a pipelined run and one request at a time.
func withoutLatency(rows []Row) []Row {
	out := make([]Row, len(rows))
	for i, r := range rows {
		r.LatencyNS = 0
		out[i] = r
	}
	return out
}

// TestPipelinedRunIsSequentialRun: a run pipelined through the stdio
// window (64, the default) gives the rows of one request at a time
// (window 1): the same order, seeds, outputs, digests and scores; so does
// a pipelined run resumed from every third row of it (the resumed rows in
// their places). The session is the fixture loan approver's, whose answers
// depend on the seed (so a row paired with another request would differ).
func TestPipelinedRunIsSequentialRun(t *testing.T) {
	start := loanFixture(t)
	su := loanSuite(t, 150)
	sys := digest.FromBytes([]byte("loan"))
	o := RunOptions{Epochs: 3, Seed: 7, Canonical: jsonl.Codec{}.Canonical} // as the CLI: digests without the ids
	seq, err := Run(context.Background(), start(1), su, sys, o)
	if err != nil {
		t.Fatal(err)
	}
	piped, err := Run(context.Background(), start(runners.DefaultWindow), su, sys, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(seq) != 450 || !reflect.DeepEqual(withoutLatency(seq), withoutLatency(piped)) {
		t.Fatalf("pipelined rows differ from sequential ones (%d and %d rows)", len(seq), len(piped))
	}
	labels := map[string]int{}
	for _, r := range seq {
		labels[r.Output]++
	}
	if len(labels) < 2 {
		t.Fatalf("the fixture answered one output for every seed: %v", labels)
	}
	for i := range seq {
		if i%3 == 0 {
			o.Resume = append(o.Resume, seq[i])
		}
	}
	resumed, err := Run(context.Background(), start(runners.DefaultWindow), su, sys, o)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := withoutLatency(seq), withoutLatency(resumed); !reflect.DeepEqual(a, b) {
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("a resumed pipelined run's row %d differs from the sequential run's: %+v, %+v", i, b[i], a[i])
			}
		}
		t.Fatalf("a resumed pipelined run has %d rows, the sequential run %d", len(b), len(a))
	}
}

// BenchmarkEvalsVsReplay interleaves, on one pipelined session of the
// fixture loan approver (--runner process, window 64), an evals run of 500
// items (k = 1) and the way replay runs fresh seeds (one RunBatch of 500
// requests of one input), and reports each one's time per item and their
// ratio (the goal: evals at most 1.1× replay).
func BenchmarkEvalsVsReplay(b *testing.B) {
	const n = 500
	sess := loanFixture(b)(runners.DefaultWindow)
	su := loanSuite(b, n)
	sys := digest.FromBytes([]byte("loan"))
	reqs := make([]runners.Request, n)
	for i := range reqs {
		reqs[i] = runners.Request{Input: su.Items[0].Input, Params: RunOptions{}.Params.WithSeed(int64(i))}
	}
	ctx := context.Background()
	var evalsT, replayT time.Duration
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		if _, err := Run(ctx, sess, su, sys, RunOptions{Epochs: 1, Seed: int64(i)}); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		sess.(runners.Batcher).RunBatch(ctx, reqs, func(_ int, _ runners.Response, err error) bool {
			if err != nil {
				b.Fatal(err)
			}
			return true
		})
		evalsT, replayT = evalsT+t1.Sub(t0), replayT+time.Since(t1)
	}
	items := float64(b.N * n)
	b.ReportMetric(float64(evalsT.Nanoseconds())/items, "evals-ns/item")
	b.ReportMetric(float64(replayT.Nanoseconds())/items, "replay-ns/item")
	b.ReportMetric(float64(evalsT)/float64(replayT), "evals/replay")
}

// cannedBatcher answers every request at once with one canned answer of
// the loan approver: what remains of a run's time is evals' own work.
type cannedBatcher struct{ resp runners.Response }

func (c cannedBatcher) Run(context.Context, runners.Request) (runners.Response, error) {
	return c.resp, nil
}

func (c cannedBatcher) RunBatch(_ context.Context, reqs []runners.Request, yield func(int, runners.Response, error) bool) {
	for i := range reqs {
		if !yield(i, c.resp, nil) {
			return
		}
	}
}

// BenchmarkEvalsOverhead is evals' own work per item (seeds, digests,
// canonical answers, scores) on a session that answers at once.
func BenchmarkEvalsOverhead(b *testing.B) {
	l := "approved"
	raw := []byte(`{"id":"r1","label":"approved","score":0.85}`)
	sess := cannedBatcher{runners.Response{Raw: raw}}
	sess.resp.Output.Label = &l
	su := loanSuite(b, 500)
	sys := digest.FromBytes([]byte("loan"))
	for b.Loop() {
		if _, err := Run(context.Background(), sess, su, sys, RunOptions{Epochs: 1, Seed: 1, Canonical: jsonl.Codec{}.Canonical}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/item")
}
