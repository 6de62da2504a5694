package compare

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/reprise-dev/reprise/ingest"
	"github.com/reprise-dev/reprise/journal"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/replay/nightly"
	"github.com/reprise-dev/reprise/system"
)

// Options configure a comparison.
type Options struct {
	// Log is the Parquet decision log of records; Limits bound its pages.
	Log    string
	Limits record.ParquetLimits
	// Filter selects records, Sample is how many are drawn (0: every
	// selected one) and Seed seeds the sample and the permutation test.
	Filter ingest.Filter
	Sample int
	Seed   uint64
	// A and B are the compared systems (what to start; Labels are set by
	// the pool). A record's own HTTP settings are used for a system that
	// gives none and speaks the record's protocol.
	A, B launch.Target
	// N is the fresh seeds each record runs under each system (default
	// DefaultN); the record's pinned seed runs too.
	N int
	// Alpha is the level of the tests across records (default 0.05),
	// Margin the largest flip share SAME allows (default DefaultMargin),
	// FDR the Benjamini–Hochberg level of the records' own tests (default
	// 0.05) and Conf the confidence level of the intervals (default 0.95).
	Alpha, Margin, FDR, Conf float64
	Out                      string
	Shard                    nightly.Shard
	// Replay is the template of every run (Launch, Explicit, Logger, Now);
	// N and Sequential are set by the comparison.
	Replay replay.Options
	// NewRunner creates the runner on first need.
	NewRunner func(ctx context.Context) (replay.Runner, error)
	// Progress, when set, is called after each record (done, total).
	Progress func(done, total int)
}

// Defaults of Options.
const (
	DefaultN      = 20
	DefaultMargin = 0.02
)

func (o Options) withDefaults() (Options, error) {
	if o.N == 0 {
		o.N = DefaultN
	}
	if o.Alpha == 0 {
		o.Alpha = 0.05
	}
	if o.Margin == 0 {
		o.Margin = DefaultMargin
	}
	if o.FDR == 0 {
		o.FDR = 0.05
	}
	if o.Conf == 0 {
		o.Conf = 0.95
	}
	switch {
	case o.N < 1 || o.N > 100_000:
		return o, fmt.Errorf("%w: -n must be between 1 and 100000, got %d", ErrOptions, o.N)
	case !(o.Alpha > 0 && o.Alpha < 1), !(o.FDR > 0 && o.FDR < 1), !(o.Conf > 0 && o.Conf < 1):
		return o, fmt.Errorf("%w: --alpha, --fdr and --conf must be in (0, 1)", ErrOptions)
	case !(o.Margin > 0 && o.Margin < 1):
		return o, fmt.Errorf("%w: --margin must be in (0, 1), got %g", ErrOptions, o.Margin)
	case o.A.System.ID.IsZero() || o.B.System.ID.IsZero():
		return o, fmt.Errorf("%w: both systems (--a and --b) are required", ErrOptions)
	}
	o.Replay.N, o.Replay.Sequential = o.N, false
	return o, nil
}

// Run runs (or continues) the comparison opts describes and returns it
// finalized. An interruption returns ctx's error with the journal kept: run
// again to continue. Errors: ErrOptions, ErrOut, ErrLocked, ErrOther,
// ErrConfig, nightly.ErrLog, ctx's, the journal's.
func Run(ctx context.Context, st replay.Blobs, opts Options) (*Comparison, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOut, err)
	}
	unlock, err := lock(opts.Out)
	if err != nil {
		return nil, err
	}
	defer unlock()
	cfg, sample, err := begin(ctx, opts)
	if err != nil {
		return nil, err
	}
	jf, lines, err := journal.Open[Decision](filepath.Join(opts.Out, JournalName))
	if err != nil {
		return nil, err
	}
	defer jf.Close()
	done := take(lines, cfg.Records)
	r := &runner{st: st, opts: opts, jf: jf, done: done}
	if err := r.all(ctx, sample); err != nil {
		return nil, err
	}
	out := make([]Decision, 0, len(sample))
	for _, rec := range sample {
		out = append(out, done[rec.RequestID])
	}
	return Finalize(cfg, out), nil
}

// begin draws the sample and fixes the config: a new comparison writes
// compare.json; one begun in the output folder must be this one and keeps
// its time bounds and sample.
func begin(ctx context.Context, opts Options) (*Config, []*record.Record, error) {
	prev, err := ReadConfig(opts.Out)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	f := opts.Filter
	if prev != nil {
		f.Time.Since, f.Time.Until = prev.Since, prev.Until
	}
	d, err := nightly.DrawSample(ctx, opts.Log, opts.Limits, f, opts.Sample, opts.Seed)
	if err != nil {
		return nil, nil, err
	}
	cfg := &Config{Schema: ConfigSchema,
		Selection: nightly.Selection{Log: opts.Log, LogSize: d.LogSize, LogDigest: d.LogDigest, Since: f.Time.Since, Until: f.Time.Until, Sample: opts.Sample},
		Seed:      system.Seed64(opts.Seed), Shard: opts.Shard.String(), N: opts.N, A: ref(opts.A), B: ref(opts.B),
		Alpha: opts.Alpha, Margin: opts.Margin, FDR: opts.FDR, Conf: opts.Conf,
		Sampled: nightly.Sampled{Scanned: d.Scanned, Selected: d.Selected, RowErrors: d.RowErrors, Listed: d.Listed, Drawn: len(d.Records), Empty: d.Empty}}
	if opts.Filter.Where != nil {
		cfg.Where = opts.Filter.Where.String()
	}
	var sample []*record.Record
	for _, r := range d.Records {
		if opts.Shard.Has(ShardKey(r.RequestID)) {
			sample = append(sample, r)
			cfg.Records = append(cfg.Records, r.RequestID)
		}
	}
	if prev != nil {
		if err := cfg.resumes(prev, opts.Out); err != nil {
			return nil, nil, err
		}
		if !equalStrings(prev.Records, cfg.Records) {
			return nil, nil, fmt.Errorf("%w: the log no longer gives this comparison's sample; use another --out", ErrOther)
		}
		return cfg, sample, nil
	}
	return cfg, sample, cfg.write(opts.Out)
}

// ShardKey is what a comparison shards by: the request id (both systems
// run every record, so a shard is a share of the records).
func ShardKey(requestID string) string { return "compare " + requestID }

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ref names a target.
func ref(t launch.Target) SystemRef {
	name := t.System.Model.Name + " " + t.System.Model.Version
	return SystemRef{ID: t.System.ID, HardwareClass: t.HardwareClass, Name: fmt.Sprintf("%s (%s)", name, t.System.ID.Short())}
}

// runner runs a comparison's records left: one pool sharing one session
// per system, the journal, and the decisions done.
type runner struct {
	st   replay.Blobs
	opts Options
	jf   *journal.Journal[Decision]
	done map[string]Decision
}

// all runs every record not yet journaled, in the sample's order.
func (r *runner) all(ctx context.Context, sample []*record.Record) error {
	pool := launch.NewPool(r.st, launch.PoolOptions{NewRunner: r.opts.NewRunner, Share: true,
		SharedLabels: map[string]string{"reprise.compare": "1"}})
	defer pool.Close(ctx)
	n := 0
	for _, rec := range sample {
		if _, ok := r.done[rec.RequestID]; ok {
			n++
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d := r.one(ctx, pool, rec)
		if ctx.Err() != nil {
			return ctx.Err() // not journaled: runs again on resume
		}
		if err := r.jf.Append(d); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		r.done[rec.RequestID] = d
		n++
		if r.opts.Progress != nil {
			r.opts.Progress(n, len(sample))
		}
	}
	return ctx.Err()
}

// one runs rec's input under A and B with the same seeds.
func (r *runner) one(ctx context.Context, pool *launch.Pool, rec *record.Record) Decision {
	d := Decision{RequestID: rec.RequestID, Timestamp: rec.Timestamp.UTC(), System: nightly.SystemName(rec)}
	if rec.Output.Label != nil || rec.Output.Text != nil || rec.Output.Score != nil {
		s := key(rec.Output.Output)
		d.Stored = &s
	}
	o := r.opts.Replay
	p, err := replay.Prepare(ctx, r.st, rec, o)
	if err != nil {
		return d.fail("", err)
	}
	var runs [2][]replay.RunRow
	for i, t := range []launch.Target{r.opts.A, r.opts.B} {
		if i == 1 {
			p.ReplaySeed = BSeed(p.ReplaySeed) // B's fresh seeds are not A's
		}
		if t.HTTP == (launch.Target{}).HTTP && t.Protocol == rec.Runtime.Protocol {
			t.HTTP = launch.HTTPConfig(rec.Runtime.HTTP)
		}
		sess, err := pool.Acquire(ctx, t, p.Launch)
		if err != nil {
			return d.fail("AB"[i:i+1], replay.SessionError(err))
		}
		res, err := replay.Run(ctx, sess, p, o)
		pool.Release(ctx, sess, err != nil && !errors.Is(err, replay.ErrIntegrity))
		if err != nil {
			return d.fail("AB"[i:i+1], err)
		}
		runs[i] = res.Runs
	}
	d.PinnedA, d.A = decisions(runs[0])
	d.PinnedB, d.B = decisions(runs[1])
	return d
}

// BSeed is the replay seed of B's fresh seeds given A's: a SplitMix64
// step away, so the two systems' fresh seeds are independent draws (the
// tests need B's runs independent of A's) and a comparison is repeatable.
// Both still run the record's own pinned seed.
func BSeed(a uint64) uint64 { return nightly.SampleKey(a, 1) }

// fail is d failed under system which ("A", "B", or "" before either ran).
func (d Decision) fail(which string, err error) Decision {
	d.Error, d.ErrorClass = err.Error(), nightly.ErrorClass(err)
	if which != "" {
		d.Error = "under " + which + ": " + d.Error
	}
	return d
}

// ErrorDecision is the decision of a run whose system answered an error.
const ErrorDecision = "(error)"

// key is an output's decision: its label, else its text, else its score.
func key(o output.Output) string {
	switch {
	case o.Label != nil:
		return *o.Label
	case o.Text != nil:
		return *o.Text
	case o.Score != nil:
		return strconv.FormatFloat(*o.Score, 'g', -1, 64)
	}
	return ""
}

// runKey is a run's decision, and false for a run that is no output of
// the system's (out of step, failed).
func runKey(r replay.RunRow) (string, bool) {
	switch r.Outcome {
	case replay.OutcomeOutput:
		if r.Label == nil && r.Text == nil && r.TextDigest != "" {
			return r.TextDigest, true
		}
		return key(r.Output()), true
	case replay.OutcomeError:
		return ErrorDecision, true
	}
	return "", false
}

// decisions are the pinned run's decision (nil: none) and the decision
// counts of the fresh-seed runs.
func decisions(runs []replay.RunRow) (pinned *string, cs []Count) {
	m := map[string]int{}
	for _, r := range runs {
		k, ok := runKey(r)
		switch {
		case !ok:
		case r.Kind == "pinned":
			pinned = &k
		default:
			m[k]++
		}
	}
	return pinned, counts(m)
}
