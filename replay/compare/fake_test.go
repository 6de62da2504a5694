package compare

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/runnertest"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/system"
)

const hw = "cpu/amd64/x86-64-v3"

// fakeRunner serves loan decisions: on input {"id": i} it answers
// "approved" with probability 0.9 and "denied" otherwise, drawn by a PCG
// seeded with the request seed and i, except that a model whose bytes are
// "model B" swaps the decisions on planted inputs (i % plantEvery == 0:
// denied with probability 0.9, on every seed where A approves). The same seed and input give the same decision
// under A and B wherever B is A, so only planted inputs differ.
type fakeRunner struct {
	starts, closed atomic.Int64
	plantEvery     int
}

func (f *fakeRunner) Start(ctx context.Context, spec runners.Spec) (runners.Session, error) {
	b, err := os.ReadFile(spec.ModelPath)
	if err != nil {
		return nil, fmt.Errorf("model not handed over: %w", err)
	}
	f.starts.Add(1)
	return f.session(string(b) == "model B"), nil
}

// session is a session of model A, or of model B when b.
func (f *fakeRunner) session(b bool) runners.Session {
	return &runnertest.DecisionSession{Latency: time.Microsecond, Closed: &f.closed, Decide: func(req runners.Request) (string, float64) {
		var in struct{ ID int }
		json.Unmarshal(req.Input, &in)
		var seed uint64
		if req.Params.Seed != nil {
			seed = uint64(*req.Params.Seed)
		}
		u := rand.New(rand.NewPCG(seed, uint64(in.ID))).Float64()
		planted := b && f.plantEvery > 0 && in.ID%f.plantEvery == 0
		if u >= 0.9 != planted {
			return "denied", 0.1
		}
		return "approved", 0.9
	}}
}

// TestFakeConformance: the fake keeps the session contract of every runner.
func TestFakeConformance(t *testing.T) {
	runnertest.RunContract(t, &fakeRunner{}, runnertest.FakeContract(t))
}

// fixture is a store with systems A and B and a log of records decided by A.
type fixture struct {
	st      *store.Mem
	log     string
	a, b    launch.Target
	planted map[string]bool
}

// newFixture writes a log of rows records (inputs {"id": i}, each stored
// decision A's at the record's seed) and the targets of A and B.
func newFixture(tb testing.TB, rows, plantEvery int) *fixture {
	tb.Helper()
	return newFixtureMissing(tb, rows, plantEvery, -1)
}

// newFixtureMissing is newFixture with record missing's input left out of
// the store (-1: none).
func newFixtureMissing(tb testing.TB, rows, plantEvery, missing int) *fixture {
	tb.Helper()
	ctx := context.Background()
	st := store.NewMem()
	c, _ := st.PutBytes(ctx, []byte("config"), store.Meta{})
	sys := func(name string) system.System {
		m, _ := st.PutBytes(ctx, []byte("model "+name), store.Meta{})
		s := system.System{Image: system.ImageRef{Digest: digest.MustParse("sha256:" + strings.Repeat("1", 64))},
			Model: system.Artifact{Name: "loan", Version: name, Digest: m}, Config: system.Artifact{Name: "c", Version: "1", Digest: c}}
		s.Seal()
		return s
	}
	fx := &fixture{st: st, planted: map[string]bool{}}
	fx.a = launch.Target{System: sys("A"), Protocol: "jsonl-stdio", HardwareClass: hw}
	fx.b = launch.Target{System: sys("B"), Protocol: "jsonl-stdio", HardwareClass: hw}
	fx.log = filepath.Join(tb.TempDir(), "log.parquet")
	f, err := os.Create(fx.log)
	if err != nil {
		tb.Fatal(err)
	}
	w := record.NewParquetWriter(f)
	sess := (&fakeRunner{}).session(false)
	for i := range rows {
		input := []byte(fmt.Sprintf(`{"id": %d}`, i))
		in := digest.FromBytes(input)
		if i != missing {
			in, _ = st.PutBytes(ctx, input, store.Meta{})
		}
		seed := int64(1000 + i)
		resp, _ := sess.Run(ctx, runners.Request{Input: input, Params: system.Params{Seed: &seed}})
		id := fmt.Sprintf("req_%04d", i)
		if plantEvery > 0 && i%plantEvery == 0 {
			fx.planted[id] = true
		}
		rec := &record.Record{Schema: record.Schema, RequestID: id, Timestamp: time.Date(2026, 8, 2, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
			Input: record.Input{Digest: in, MediaType: "application/json"}, Params: system.Params{Seed: &seed}, System: fx.a.System,
			Runtime: record.Runtime{Protocol: "jsonl-stdio", HardwareClass: hw},
			Output:  record.Output{Output: resp.Output, Digest: digest.FromBytes(resp.Raw)}}
		if err := w.Write(rec); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
	return fx
}

// options are a comparison of fx over every record, fr serving both.
func (fx *fixture) options(out string, fr *fakeRunner) Options {
	return Options{Log: fx.log, Out: out, Seed: 7, A: fx.a, B: fx.b, N: 20,
		Replay:    replay.Options{Launch: launch.Options{HostClass: hw}},
		NewRunner: func(context.Context) (replay.Runner, error) { return fr, nil }}
}
