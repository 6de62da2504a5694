package counterfactual

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/stats"
	"github.com/reprise-dev/reprise/verdict"
)

// ErrProtocol: a system speaks another wire protocol than the record's,
// so the record's input cannot be sent to it.
var ErrProtocol = errors.New("the system speaks another protocol than the record")

// System is a system to replay a record's input on: what to start, and
// what the user called it (a file name).
type System struct {
	Name   string
	Target launch.Target
}

// Recorded is the record's own system, named name.
func Recorded(rec *record.Record, name string) System {
	return System{Name: name, Target: launch.FromRecord(rec)}
}

// target is s's target for replaying rec: the record's HTTP settings when
// s has none (a system file carries no runtime.http), labelled with the
// record's request id. Errors wrap ErrProtocol.
func (s System) target(rec *record.Record) (launch.Target, error) {
	t := s.Target
	if t.Protocol != rec.Runtime.Protocol {
		return t, fmt.Errorf("%w: %s speaks %s, record %s was made over %s", ErrProtocol, s.Name, t.Protocol, rec.RequestID, rec.Runtime.Protocol)
	}
	if t.HTTP == (runners.HTTPConfig{}) {
		t.HTTP = launch.HTTPConfig(rec.Runtime.HTTP)
	}
	t.Labels = maps.Clone(t.Labels)
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	t.Labels["reprise.request_id"] = rec.RequestID
	t.Labels["reprise.system_id"] = t.System.ID.String()
	return t, nil
}

// SystemSection is one system of a report: what it is and what it did on
// the record's input.
type SystemSection struct {
	// Role is "recorded" (the record's own system), "against" or
	// "candidate".
	Role     string `json:"role"`
	Source   string `json:"source"`
	SystemID string `json:"system_id"`
	Image    string `json:"image"`
	Model    string `json:"model"`
	Config   string `json:"config"`
	// Version is the model's name and version ("loan-approver 2.4.2"),
	// what the reports call the system.
	Version    string            `json:"version"`
	Components map[string]string `json:"components,omitempty"`
	Runner     *runners.Info     `json:"runner"`
	// Exact is the record's pinned seed on this system (nil: no seed).
	Exact *replay.ExactResult `json:"exact"`
	// Runs is the number of fresh-seed outputs; ErrorAnswers the runs
	// that answered an error.
	Runs         int            `json:"runs"`
	ErrorAnswers int            `json:"error_answers"`
	LabelCounts  map[string]int `json:"label_counts,omitempty"`
	// Stored is how often this system gave the stored output.
	Stored *StoredShare `json:"stored,omitempty"`
	Notes  []string     `json:"notes"`
}

func newSection(role string, s System) SystemSection {
	sys := s.Target.System
	sec := SystemSection{Role: role, Source: s.Name, SystemID: sys.ID.String(), Image: sys.Image.String(),
		Model: sys.Model.String(), Config: sys.Config.String(), Version: sys.Model.Name + " " + sys.Model.Version, Notes: []string{}}
	if len(sys.Components) > 0 {
		sec.Components = map[string]string{}
		for n, c := range sys.Components {
			sec.Components[n] = c.String()
		}
	}
	return sec
}

// StoredShare is the share of a system's fresh-seed outputs that gave the
// stored output: its label, or, without a label, its exact text; nil for a
// stored output with neither.
type StoredShare struct {
	What     string           `json:"what"`
	K        int              `json:"k"`
	N        int              `json:"n"`
	Share    float64          `json:"share"`
	Interval verdict.Interval `json:"interval"`
}

// storedShare is the share of outs that gave stored (see StoredShare).
func storedShare(stored output.Output, outs []output.Output, conf float64) *StoredShare {
	if len(outs) == 0 || stored.Label == nil && stored.Text == nil {
		return nil
	}
	k, what := 0, ""
	for _, o := range outs {
		switch {
		case stored.Label != nil:
			what = fmt.Sprintf("label %q", *stored.Label)
			if o.Label != nil && *o.Label == *stored.Label {
				k++
			}
		default:
			what = "the stored text, exactly"
			if o.Text != nil && *o.Text == *stored.Text {
				k++
			}
		}
	}
	lo, hi, err := stats.ClopperPearson(k, len(outs), conf, stats.TwoSided)
	if err != nil {
		return nil
	}
	return &StoredShare{What: what, K: k, N: len(outs), Share: float64(k) / float64(len(outs)),
		Interval: verdict.Interval{Lower: lo, Upper: hi, Conf: conf, Method: "Clopper-Pearson"}}
}

func labelCounts(outs []output.Output) map[string]int {
	m := map[string]int{}
	for _, o := range outs {
		if o.Label != nil {
			m[*o.Label]++
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// Run is one run of runs.parquet: replay's run row, the system it ran on
// (its id) and that system's role in the report ("recorded", "against",
// "candidate": the two sides of a comparison may be one system). Index
// counts each side's runs from 0.
type Run struct {
	System string `parquet:"system" json:"system"`
	Role   string `parquet:"role" json:"role"`
	replay.RunRow
}

// defaults fills what replay.Options leaves zero.
func defaults(o *replay.Options) {
	if o.N == 0 {
		o.N = 100
	}
	if o.MaxRuns == 0 {
		o.MaxRuns = verdict.DefaultMaxRuns
	}
	o.Rules = o.Rules.WithDefaults()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// chunkSeed is the replay seed of the j-th chunk of runs on side s: the
// first 8 bytes of sha256("reprise/counterfactual/v1\n" s j seed), so
// every chunk has fresh seeds of its own and a comparison is repeatable.
func chunkSeed(seed uint64, side, j int) uint64 {
	var b [24]byte
	binary.BigEndian.PutUint64(b[:8], uint64(side))
	binary.BigEndian.PutUint64(b[8:16], uint64(j))
	binary.BigEndian.PutUint64(b[16:], seed)
	sum := sha256.Sum256(append([]byte("reprise/counterfactual/v1\n"), b[:]...))
	return binary.BigEndian.Uint64(sum[:8])
}

// runner runs chunks of a prepared record on one system through a pool.
type runner struct {
	pool   *launch.Pool
	p      *replay.Prepared
	target launch.Target
	opts   replay.Options
	side   int
	chunks int
	sec    *SystemSection
	runs   []Run
}

// chunk runs n fresh seeds (and, on the first chunk, the record's pinned
// seed) on a session lent by the pool and returns their outputs.
func (r *runner) chunk(ctx context.Context, n int) ([]output.Output, error) {
	q := *r.p
	if r.chunks > 0 {
		rec := *r.p.Record
		rec.Params.Seed = nil // the pinned seed runs once, in the first chunk
		q.Record = &rec
	}
	q.Checks, q.ReplaySeed = nil, chunkSeed(r.p.ReplaySeed, r.side, r.chunks)
	r.chunks++
	ro := r.opts
	ro.N, ro.Sequential, ro.System, ro.Progress = max(n, 1), false, nil, nil
	sess, err := r.pool.Acquire(ctx, r.target, r.p.Launch)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.sec.Source, replay.SessionError(err))
	}
	res, err := replay.Run(ctx, sess, &q, ro)
	r.pool.Release(ctx, sess, err != nil)
	if res != nil && res.Report != nil {
		r.absorb(res)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.sec.Source, err)
	}
	return res.Outputs(), nil
}

// absorb adds a chunk's runs and report to the system's section.
func (r *runner) absorb(res *replay.Result) {
	rep := res.Report
	if r.sec.Runner == nil || rep.Runner != nil {
		r.sec.Runner = rep.Runner
	}
	if r.chunks == 1 {
		r.sec.Exact = rep.Exact
		r.sec.Notes = append(r.sec.Notes, rep.Notes...)
	}
	r.sec.ErrorAnswers += rep.ErrorAnswers
	id := r.target.System.ID.String()
	for _, row := range res.Runs {
		row.Index = len(r.runs)
		r.runs = append(r.runs, Run{System: id, Role: r.sec.Role, RunRow: row})
	}
}
