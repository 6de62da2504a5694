package counterfactual

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/runnertest"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/system"
)

// model is a fake system's behaviour: labels drawn from probs with a PCG
// seeded by the request seed; score = the chosen label's probability.
type model struct {
	labels []string
	probs  []float64
}

func (m model) answer(seed int64) (string, float64) {
	return runnertest.Draw(m.labels, m.probs, seed)
}

// fakeRunner starts fake jsonl-stdio systems: the model file's bytes name
// the model in models.
type fakeRunner struct {
	mu     sync.Mutex
	models map[string]model
	starts int
}

func (f *fakeRunner) Start(ctx context.Context, spec runners.Spec) (runners.Session, error) {
	b, err := os.ReadFile(spec.ModelPath)
	if err != nil {
		return nil, fmt.Errorf("model not handed over: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.models[string(b)]
	if !ok {
		return nil, fmt.Errorf("%w: no fake model %q", runners.ErrCrashed, b)
	}
	f.starts++
	return &runnertest.DecisionSession{Latency: time.Microsecond, Decide: func(req runners.Request) (string, float64) {
		return m.answer(*req.Params.Seed)
	}}, nil
}

var _ launch.Runner = (*fakeRunner)(nil)

const hw = "cpu/amd64/x86-64-v3"

// world is a store with one input and the fake models' files.
type world struct {
	st     *store.Layout
	runner *fakeRunner
	input  digest.Digest
	config digest.Digest
}

func newWorld(t testing.TB, models map[string]model) *world {
	t.Helper()
	ctx := context.Background()
	st, err := store.Init(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	w := &world{st: st, runner: &fakeRunner{models: models}}
	w.input, _ = st.PutBytes(ctx, []byte(`{"income": 1}`), store.Meta{})
	w.config, _ = st.PutBytes(ctx, []byte("config"), store.Meta{})
	for name := range models {
		if _, err := st.PutBytes(ctx, []byte(name), store.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// sys is the composite version of model name.
func (w *world) sys(name string) system.System {
	s := system.System{Image: system.ImageRef{Digest: digest.MustParse("sha256:" + strings.Repeat("1", 64))},
		Model:  system.Artifact{Name: "loan", Version: name, Digest: digest.FromBytes([]byte(name))},
		Config: system.Artifact{Name: "c", Version: "1", Digest: w.config}}
	s.Seal()
	return s
}

// system is model name as a System to replay on.
func (w *world) system(name string) System {
	return System{Name: name + ".json", Target: launch.Target{System: w.sys(name), Protocol: "jsonl-stdio", HardwareClass: hw}}
}

// record is a record pinning model logged whose stored output is what
// model decided answered at seed (nil: no pinned seed, and the stored
// output is label, score).
func (w *world) record(logged string, seed *int64, label string, score float64) *record.Record {
	raw := runnertest.DecisionRaw(label, score)
	rec := &record.Record{
		Schema: record.Schema, RequestID: "req_cf", Timestamp: time.Date(2026, 8, 2, 10, 0, 0, 0, time.UTC),
		Input:   record.Input{Digest: w.input, MediaType: "application/json"},
		Params:  system.Params{Seed: seed},
		System:  w.sys(logged),
		Runtime: record.Runtime{Protocol: "jsonl-stdio", HardwareClass: hw},
		Output:  record.Output{Output: output.Output{Label: &label, Score: &score}, Digest: digest.FromBytes(raw)},
	}
	return rec
}

func (w *world) pool() *launch.Pool {
	return launch.NewPool(w.st, launch.PoolOptions{Runner: w.runner, Share: true})
}
