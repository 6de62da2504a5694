package runnertest

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/runners"
)

// DecisionRaw is the raw answer of the tests' fake loan systems deciding
// label with score: {"label": label, "score": score}.
func DecisionRaw(label string, score float64) []byte {
	raw, _ := json.Marshal(map[string]any{"label": label, "score": score})
	return raw
}

// Decision is the response of a fake loan system deciding label with score
// in latency: the output, and DecisionRaw as its raw bytes.
func Decision(label string, score float64, latency time.Duration) runners.Response {
	return runners.Response{Output: output.Output{Label: &label, Score: &score}, Raw: DecisionRaw(label, score), Latency: latency}
}

// Draw is a fake system's label for seed: one of labels, drawn with the
// probabilities probs by a PCG seeded with seed (stream 1); the score is
// the drawn label's probability (the last label's when the probabilities
// sum to less than the draw).
func Draw(labels []string, probs []float64, seed int64) (string, float64) {
	u := rand.New(rand.NewPCG(uint64(seed), 1)).Float64()
	acc := 0.0
	for i, p := range probs {
		acc += p
		if u < acc {
			return labels[i], p
		}
	}
	return labels[len(labels)-1], probs[len(probs)-1]
}

// DecisionSession is a hand-written fake session: each run answers the
// Decision of Decide for the request, in Latency. Runs and Closed, when not
// nil, count the runs and the closes; Info is a pinned "fake" runner.
type DecisionSession struct {
	Decide       func(req runners.Request) (label string, score float64)
	Latency      time.Duration
	Runs, Closed *atomic.Int64
}

func (s *DecisionSession) Run(ctx context.Context, req runners.Request) (runners.Response, error) {
	if s.Runs != nil {
		s.Runs.Add(1)
	}
	l, p := s.Decide(req)
	return Decision(l, p, s.Latency), nil
}

func (s *DecisionSession) Info() runners.Info { return runners.Info{Runner: "fake", Pinned: true} }

func (s *DecisionSession) Close(ctx context.Context) error {
	if s.Closed != nil {
		s.Closed.Add(1)
	}
	return nil
}

var _ runners.Session = (*DecisionSession)(nil)
