package nightly

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/reprise-dev/reprise/ingest"
	"github.com/reprise-dev/reprise/journal"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/stats"
	"github.com/reprise-dev/reprise/verdict"
)

// Errors of a night.
var (
	// ErrUsage: bad options, a log that is not a decision log, an output
	// folder holding another night.
	ErrUsage = errors.New("nightly: invalid input")
	// ErrLocked: another night is writing into the output folder. It
	// wraps journal.ErrLocked.
	ErrLocked = fmt.Errorf("nightly: output folder %w", journal.ErrLocked)
)

// Files in a night's output folder.
const (
	ConfigName  = "night.json"
	JournalName = "journal.jsonl"
	LockName    = ".reprise.lock"
	RecordsDir  = "records"
)

// ConfigSchema names night.json. v2: bottom-k sampling and record p-values
// corrected over their tests (a v1 night draws another sample and keeps
// other p-values, so it neither resumes nor merges).
const ConfigSchema = "reprise/nightly/v2"

// Options configure a night.
type Options struct {
	// Log is the Parquet decision log of records.
	Log string
	// Filter selects records; its time bounds also skip row groups.
	Filter ingest.Filter
	// Sample is the number of records drawn (per system when Stratify);
	// 0 takes every selected record.
	Sample   int
	Stratify bool
	Seed     uint64
	// Parallel is the number of systems replayed at once (default 1).
	Parallel int
	// FDR is the Benjamini–Hochberg level (default 0.05).
	FDR float64
	// MinRate, when > 0, fails a system whose reproducibility rate's
	// interval lies wholly below it.
	MinRate float64
	// Out is the output folder (night.json, journal, reports).
	Out   string
	Shard Shard
	// Replay is the template of every record's replay (N, Rules, Launch…).
	Replay replay.Options
	// ConfirmN is the number of fresh-seed runs of a record's first
	// confirming replay (default verdict.DefaultMaxRuns): with
	// Replay.Sequential, a record whose pinned seed did not reproduce the
	// stored output exactly is replayed again with exactly ConfirmN runs,
	// and, when that is INCONCLUSIVE, ConfirmGrowth × ConfirmN; the last
	// replay (its verdict and reports) is the record's result (see confirm). A sequential
	// replay's p-value is taken once, on the first runs that give it power
	// at the record's own level (about alpha/c), so it cannot be small
	// enough for Benjamini–Hochberg across a night; a fixed-N replay's can.
	ConfirmN int
	// NewRunner creates the runner on first need; it is shared by all
	// systems (one session per system is started through it).
	NewRunner func(ctx context.Context) (replay.Runner, error)
	// Progress, when set, is called after each record.
	Progress func(Progress)
}

// Progress is the state of a night after a record.
type Progress struct {
	Done, Total int
	Counts      map[verdict.Verdict]int
	Elapsed     time.Duration
	// Resumed is the number of records found done in the journal.
	Resumed int
}

// Config is night.json: what fixes a night, so a rerun continues the same
// night (and a shard merges with its siblings).
type Config struct {
	Schema   string    `json:"schema"`
	Log      string    `json:"log"`
	LogSize  int64     `json:"log_size"`
	Where    string    `json:"where,omitempty"`
	Since    time.Time `json:"since,omitzero"`
	Until    time.Time `json:"until,omitzero"`
	Sample   int       `json:"sample"`
	Stratify bool      `json:"stratify"`
	Seed     uint64    `json:"seed"`
	Shard    string    `json:"shard,omitempty"`
	N        int       `json:"n"`
	// ConfirmN is the runs of a confirming replay (0: none, -n given).
	ConfirmN int           `json:"confirm_n,omitempty"`
	Rules    verdict.Rules `json:"rules"`
	FDR      float64       `json:"fdr"`
	MinRate  float64       `json:"min_rate"`
	// Scanned is the number of log rows read; RowErrors the rows that are
	// not valid records (the first MaxRowErrors are listed).
	Scanned   int64             `json:"scanned"`
	Selected  int64             `json:"selected"`
	RowErrors int64             `json:"row_errors"`
	Listed    []record.RowError `json:"row_errors_listed"`
	// Records are the request ids of this night's (or shard's) sample.
	Records []string `json:"records"`
}

// MaxRowErrors is how many row errors night.json lists.
const MaxRowErrors = 100

// same reports whether two configs are the same night (the log's rows and
// the time of the first start aside).
func (c *Config) same(o *Config) bool {
	return c.Log == o.Log && c.LogSize == o.LogSize && c.Where == o.Where && c.Sample == o.Sample &&
		c.Stratify == o.Stratify && c.Seed == o.Seed && c.Shard == o.Shard && c.N == o.N && c.ConfirmN == o.ConfirmN && c.Rules == o.Rules &&
		c.FDR == o.FDR && c.MinRate == o.MinRate
}

// Result is one record of a night: the replay's verdict, its p-value, and
// the verdict after false-discovery control across the night.
type Result struct {
	RequestID     string    `json:"request_id"`
	Timestamp     time.Time `json:"timestamp"`
	System        string    `json:"system"`
	SystemName    string    `json:"system_name"`
	HardwareClass string    `json:"hardware_class"`
	// ReplayVerdict is the record's own verdict, as `replay` gives it.
	ReplayVerdict verdict.Verdict `json:"replay_verdict"`
	Basis         string          `json:"basis,omitempty"`
	// PValue is the record's p-value (see RecordPValue) and PTest the test
	// it came from; nil for an error or a record with no test.
	PValue *float64 `json:"p_value"`
	PTest  string   `json:"p_test,omitempty"`
	// QValue is the Benjamini–Hochberg adjusted p-value across the night.
	QValue *float64 `json:"q_value"`
	// Verdict is the night's verdict: DIVERGED only when the replay
	// diverged and QValue <= FDR.
	Verdict verdict.Verdict `json:"verdict"`
	// Why is the reason of the verdict (the report's reasons, or the error).
	Why        string    `json:"why"`
	Error      string    `json:"error,omitempty"`
	ErrorClass string    `json:"error_class,omitempty"` // "integrity", "environment", "usage"
	Stored     Stored    `json:"stored"`
	Labels     []Count   `json:"label_counts,omitempty"`
	Scores     []float64 `json:"scores,omitempty"`
	Reports    string    `json:"reports,omitempty"`
}

// Stored is the stored output of a record (label and score).
type Stored struct {
	Label *string  `json:"label"`
	Score *float64 `json:"score"`
}

// Count is one label's count among a record's replays.
type Count struct {
	Label string `json:"label"`
	N     int    `json:"n"`
}

// MaxScores is how many replayed scores a Result keeps for plots.
const MaxScores = 500

// RecordPValue is a record's p-value for the night's false-discovery
// control: the smallest p-value among its report's c applicable tests,
// times c (Bonferroni, capped at 1), so that it is a valid p-value of the
// record as a whole (the smallest of c p-values alone is not: under an
// honest record it falls below t with probability up to c·t). A frequency
// test without a p-value contributes the exact one-sided binomial p-value
// of its count under the minimum frequency, P(X <= k), X ~ Binomial(n, min
// frequency) (stats.BinomTest, alternative less): small when the stored
// value came back less often than a reproducible output would. It returns
// nil when no test gives one; the name is the test the smallest came from.
func RecordPValue(ev verdict.Evaluation, rules verdict.Rules) (*float64, string) {
	var best *float64
	name := ""
	consider := func(p float64, n string) {
		if best == nil || p < *best {
			best, name = &p, n
		}
	}
	for _, t := range ev.Tests {
		if t.Skipped != "" {
			continue
		}
		if t.PValue != nil {
			consider(*t.PValue, t.Name)
			continue
		}
		if t.Successes != nil && t.Trials != nil && *t.Trials > 0 {
			r, err := stats.BinomTest(*t.Successes, *t.Trials, rules.WithDefaults().MinFrequency, stats.Less, 0.95)
			if err == nil {
				consider(r.PValue, t.Name+" (binomial, less)")
			}
		}
	}
	if best != nil && len(ev.Tests) > 1 {
		p := min(1, *best*float64(len(ev.Tests)))
		best = &p
		name = fmt.Sprintf("%s (Bonferroni over %d tests)", name, len(ev.Tests))
	}
	return best, name
}

// Run runs (or continues) a night and returns it. The output folder holds
// night.json, the journal, and each record's reports under records/. An
// interruption returns ctx's error with the journal kept: run again to
// continue.
func Run(ctx context.Context, st replay.Blobs, opts Options) (*Night, error) {
	if opts.Parallel <= 0 {
		opts.Parallel = 1
	}
	if opts.FDR == 0 {
		opts.FDR = 0.05
	}
	if !(opts.FDR > 0 && opts.FDR < 1) || opts.MinRate < 0 || opts.MinRate >= 1 {
		return nil, fmt.Errorf("%w: --fdr must be in (0, 1) and --min-rate in [0, 1)", ErrUsage)
	}
	if opts.Replay.N == 0 {
		opts.Replay.N = 100
	}
	if !opts.Replay.Sequential {
		opts.ConfirmN = 0
	} else if opts.ConfirmN == 0 {
		opts.ConfirmN = verdict.DefaultMaxRuns
	}
	if opts.ConfirmN < 0 {
		return nil, fmt.Errorf("%w: the confirming replay's runs must not be negative, got %d", ErrUsage, opts.ConfirmN)
	}
	opts.Replay.Rules = opts.Replay.Rules.WithDefaults()
	now := opts.Replay.Now
	if now == nil {
		now = time.Now
	}
	started := now()
	if err := os.MkdirAll(filepath.Join(opts.Out, RecordsDir), 0o755); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	unlock, err := lock(opts.Out)
	if err != nil {
		return nil, err
	}
	defer unlock()

	fi, err := os.Stat(opts.Log)
	if err != nil {
		return nil, fmt.Errorf("%w: log: %v", ErrUsage, err)
	}
	cfg := &Config{Schema: ConfigSchema, Log: opts.Log, LogSize: fi.Size(), Since: opts.Filter.Time.Since, Until: opts.Filter.Time.Until,
		Sample: opts.Sample, Stratify: opts.Stratify, Seed: opts.Seed, Shard: opts.Shard.String(),
		N: opts.Replay.N, ConfirmN: opts.ConfirmN, Rules: opts.Replay.Rules, FDR: opts.FDR, MinRate: opts.MinRate}
	if opts.Filter.Where != nil {
		cfg.Where = opts.Filter.Where.String()
	}
	prev, err := ReadConfig(opts.Out)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if prev != nil {
		if !prev.same(cfg) {
			return nil, fmt.Errorf("%w: %s holds another night (%s differs from this command's); use another --out", ErrUsage, opts.Out, ConfigName)
		}
		// A resumed night keeps the time bounds it started with.
		opts.Filter.Time.Since, opts.Filter.Time.Until = prev.Since, prev.Until
		cfg.Since, cfg.Until = prev.Since, prev.Until
	}
	sample, err := draw(opts, cfg)
	if err != nil {
		return nil, err
	}
	if prev != nil && !slices.Equal(prev.Records, cfg.Records) {
		return nil, fmt.Errorf("%w: the log no longer gives this night's sample (it changed since the night started); use another --out", ErrUsage)
	}
	if prev == nil {
		b, _ := json.MarshalIndent(cfg, "", "  ")
		if err := journal.WriteAtomic(filepath.Join(opts.Out, ConfigName), append(b, '\n')); err != nil {
			return nil, err
		}
	}

	jf, rs, err := journal.Open[Result](filepath.Join(opts.Out, JournalName))
	if err != nil {
		return nil, err
	}
	defer jf.Close()
	done := byRequest(rs)

	var todo []*record.Record
	for _, r := range sample {
		if _, ok := done[r.RequestID]; !ok {
			todo = append(todo, r)
		}
	}
	prog := Progress{Total: len(sample), Done: len(sample) - len(todo), Resumed: len(sample) - len(todo), Counts: map[verdict.Verdict]int{}}
	for _, r := range done {
		prog.Counts[r.ReplayVerdict]++
	}
	var mu sync.Mutex
	finish := func(r Result) error {
		mu.Lock()
		defer mu.Unlock()
		if err := jf.Append(r); err != nil {
			return err
		}
		done[r.RequestID] = r
		prog.Done++
		prog.Counts[r.ReplayVerdict]++
		prog.Elapsed = now().Sub(started)
		if opts.Progress != nil {
			opts.Progress(prog)
		}
		return nil
	}

	// One pool for the night: one session per system, lent to each of its
	// records in turn and retired when the system's group is done.
	pool := launch.NewPool(st, launch.PoolOptions{NewRunner: opts.NewRunner, Share: true,
		SharedLabels: map[string]string{"reprise.nightly": "1"}})
	defer pool.Close(ctx)

	groups := group(todo)
	work := make(chan []*record.Record)
	errc := make(chan error, opts.Parallel)
	var wg sync.WaitGroup
	for range opts.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range work {
				if err := runGroup(ctx, st, g, opts, pool, finish); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
feed:
	for _, g := range groups {
		select {
		case work <- g:
		case err = <-errc:
			break feed
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errc:
		default:
		}
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	results := make([]Result, 0, len(sample))
	for _, r := range sample {
		results = append(results, done[r.RequestID])
	}
	return Finalize(cfg, results), nil
}

// draw scans the log once, selecting and sampling; cfg gets the counts and
// the sample's request ids.
func draw(opts Options, cfg *Config) ([]*record.Record, error) {
	f, err := os.Open(opts.Log)
	if err != nil {
		return nil, fmt.Errorf("%w: log: %v", ErrUsage, err)
	}
	defer f.Close()
	l, err := record.OpenParquetLog(f, cfg.LogSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUsage, opts.Log, err)
	}
	d, err := drawSample(l, opts.Filter, opts.Sample, opts.Stratify, opts.Seed, sampleWorkers())
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUsage, opts.Log, err)
	}
	cfg.Scanned, cfg.Selected, cfg.RowErrors, cfg.Listed = d.Scanned, d.Selected, d.RowErrors, d.Listed
	rowErr := func(e record.RowError) {
		cfg.RowErrors++
		if len(cfg.Listed) < MaxRowErrors {
			cfg.Listed = append(cfg.Listed, e)
		}
	}
	var out []*record.Record
	seen := map[string]bool{}
	for _, r := range d.Records {
		if !opts.Shard.Has(SystemKey(r)) {
			continue
		}
		if seen[r.RequestID] {
			rowErr(record.RowError{Problems: []record.Problem{{Field: "request_id", Message: "request id " + r.RequestID + " drawn twice; replayed once"}}})
			continue
		}
		seen[r.RequestID] = true
		out = append(out, r)
		cfg.Records = append(cfg.Records, r.RequestID)
	}
	return out, nil
}

// sessionKey groups records that one session can serve: the system, the
// hardware class, the protocol, and the record's environment and limits.
func sessionKey(r *record.Record) string {
	b, _ := json.Marshal(struct {
		P string
		E map[string]string
		L *record.Limits
	}{r.Runtime.Protocol, r.Runtime.EnvVars, r.Runtime.Limits})
	return SystemKey(r) + " " + string(b)
}

// group splits records (sorted by system) into session groups, in order.
func group(recs []*record.Record) [][]*record.Record {
	idx := map[string]int{}
	var out [][]*record.Record
	for _, r := range recs {
		k := sessionKey(r)
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], r)
	}
	return out
}

// runGroup replays one system's records on one session lent by pool, and
// retires it when the group is done.
func runGroup(ctx context.Context, st replay.Blobs, recs []*record.Record, opts Options, pool *launch.Pool, finish func(Result) error) error {
	var last *launch.Session
	defer func() { pool.Retire(ctx, last) }()
	for _, rec := range recs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		res, confirmP, confirmTest, sess, err := replayOne(ctx, st, rec, opts, pool)
		if sess != nil {
			last = sess
		}
		if ctx.Err() != nil {
			return ctx.Err() // not journaled: the record is replayed again on resume
		}
		r, werr := outcome(rec, res, confirmP, confirmTest, opts, err)
		if werr != nil {
			return werr
		}
		if err != nil && sess != nil && !errors.Is(err, replay.ErrIntegrity) {
			pool.Release(ctx, sess, true) // the session may be dead or out of step
		}
		if err := finish(r); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	return nil
}

// replayOne replays rec on a session lent by pool (Prepare, Run, Decide),
// and confirms it (confirm) unless its pinned seed reproduced it exactly.
// sess is the session it was lent (nil: none).
func replayOne(ctx context.Context, st replay.Blobs, rec *record.Record, opts Options, pool *launch.Pool) (
	res *replay.Result, confirmP *float64, confirmTest string, sess *launch.Session, err error) {
	p, err := replay.Prepare(ctx, st, rec, opts.Replay)
	if err != nil {
		return nil, nil, "", nil, err
	}
	if sess, err = pool.Acquire(ctx, p.Target(), p.Launch); err != nil {
		sess = nil
		res, err = p.Fail(replay.SessionError(err), opts.Replay)
		return res, nil, "", nil, err
	}
	if res, err = runDecide(ctx, sess, p, opts.Replay); err == nil && opts.ConfirmN > 0 && !exactMatch(res) {
		confirmP, confirmTest, res, err = confirm(ctx, st, rec, sess, opts, res)
	}
	return res, confirmP, confirmTest, sess, err
}

// runDecide runs a prepared record on sess and decides its verdict.
func runDecide(ctx context.Context, sess *launch.Session, p *replay.Prepared, o replay.Options) (*replay.Result, error) {
	res, err := replay.Run(ctx, sess, p, o)
	if err != nil {
		return res, err
	}
	return res, replay.Decide(res, o)
}

// outcome is the night's result of one record's replay (err: its error),
// after writing its reports; the error returned is a failure to write them.
func outcome(rec *record.Record, res *replay.Result, confirmP *float64, confirmTest string, opts Options, err error) (Result, error) {
	r := Result{RequestID: rec.RequestID, Timestamp: rec.Timestamp, System: SystemKey(rec), SystemName: SystemName(rec),
		HardwareClass: rec.Runtime.HardwareClass, Stored: Stored{Label: rec.Output.Label, Score: rec.Output.Score}}
	if res != nil && len(res.Runs) > 0 {
		dir := filepath.Join(opts.Out, RecordsDir, rec.RequestID)
		if werr := res.WriteFiles(dir); werr != nil {
			return r, fmt.Errorf("%s: write reports: %w", rec.RequestID, werr)
		}
		r.Reports = filepath.Join(RecordsDir, rec.RequestID)
	}
	if err != nil {
		r.ReplayVerdict, r.Error, r.ErrorClass = verdict.Failed, err.Error(), ErrorClass(err)
		return r, nil
	}
	rep := res.Report
	r.ReplayVerdict, r.Basis = rep.Verdict, rep.Basis
	r.PValue, r.PTest = RecordPValue(rep.Evaluation, opts.Replay.Rules)
	if confirmTest != "" {
		r.PValue, r.PTest = confirmP, confirmTest
	}
	r.Why = joinReasons(rep.Reasons)
	for _, l := range sortedKeys(rep.LabelCounts) {
		r.Labels = append(r.Labels, Count{Label: l, N: rep.LabelCounts[l]})
	}
	for _, run := range res.Runs {
		if run.Kind == "replay" && run.Score != nil && len(r.Scores) < MaxScores &&
			(rec.Output.Label == nil || run.Label != nil && *run.Label == *rec.Output.Label) {
			r.Scores = append(r.Scores, *run.Score)
		}
	}
	return r, nil
}

// ConfirmStages is the number of confirming replays a record may get: one
// of Options.ConfirmN runs, and, when that one is INCONCLUSIVE (a check
// without the power to reject, e.g. the stored label too rare among the
// replays for its score to be tested), one of ConfirmGrowth × ConfirmN.
const (
	ConfirmStages = 2
	ConfirmGrowth = 20
)

// confirm replays a record whose pinned seed did not reproduce its stored
// output exactly with a fixed number of fresh seeds (the same derived seeds
// as the sequential replay, so the first runs repeat): ConfirmN, then
// ConfirmGrowth × ConfirmN when the first is INCONCLUSIVE. It returns the
// last replay and the record's p-value: the smaller of the stages'
// RecordPValue times ConfirmStages (Bonferroni over the stages, whether or
// not the second ran), capped at 1. Each stage's p-value is that of a
// fixed-N experiment, so this is a valid p-value whatever decides to run
// the second stage; whether a record is confirmed at all depends only on its
// pinned-seed run.
func confirm(ctx context.Context, st replay.Blobs, rec *record.Record, sess *launch.Session, opts Options, seq *replay.Result) (*float64, string, *replay.Result, error) {
	var best *float64
	name := ""
	res := seq
	for stage, n := 0, opts.ConfirmN; stage < ConfirmStages; stage, n = stage+1, n*ConfirmGrowth {
		co := opts.Replay
		co.Sequential, co.N = false, n
		p, err := replay.Prepare(ctx, st, rec, co)
		if err != nil {
			res, err = p.Fail(err, co)
			return nil, "", res, err
		}
		if res, err = runDecide(ctx, sess, p, co); err != nil {
			return nil, "", res, err
		}
		if p, t := RecordPValue(res.Report.Evaluation, opts.Replay.Rules); p != nil && (best == nil || *p < *best) {
			best, name = p, fmt.Sprintf("%s, confirming replay of %d runs", t, n)
		}
		if res.Report.Verdict != verdict.Inconclusive {
			break
		}
	}
	if best == nil {
		return nil, "", res, nil
	}
	p := min(1, *best*ConfirmStages)
	return &p, fmt.Sprintf("%s; Bonferroni over %d confirming stages", name, ConfirmStages), res, nil
}

// exactMatch reports whether a replay's pinned seed gave back the stored
// output exactly.
func exactMatch(res *replay.Result) bool {
	return res != nil && res.Report != nil && res.Report.Exact != nil && res.Report.Exact.ExactMatch
}

// ErrorClass classifies a replay error for exit codes: "integrity",
// "usage" or "environment".
func ErrorClass(err error) string {
	switch {
	case errors.Is(err, replay.ErrIntegrity):
		return "integrity"
	case errors.Is(err, replay.ErrUsage), errors.Is(err, verdict.ErrRules):
		return "usage"
	case errors.Is(err, runners.ErrImageMismatch):
		return "integrity"
	}
	return "environment"
}

func joinReasons(rs []string) string {
	var b bytes.Buffer
	for i, r := range rs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(r)
	}
	return b.String()
}

func sortedKeys(m map[string]int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// ReadConfig reads dir's night.json.
func ReadConfig(dir string) (*Config, error) {
	b, err := os.ReadFile(filepath.Join(dir, ConfigName))
	if err != nil {
		return nil, err
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUsage, filepath.Join(dir, ConfigName), err)
	}
	if c.Schema != ConfigSchema {
		return nil, fmt.Errorf("%w: %s: schema %q, this reprise writes %q: it cannot resume or merge that night (start it again in another --out)", ErrUsage, filepath.Join(dir, ConfigName), c.Schema, ConfigSchema)
	}
	return &c, nil
}

// ReadJournal reads dir's journal: the finished records by request id. A
// last line cut short by a kill is ignored (that record runs again).
func ReadJournal(dir string) (map[string]Result, error) {
	f, err := os.Open(filepath.Join(dir, JournalName))
	if errors.Is(err, os.ErrNotExist) {
		return map[string]Result{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rs, err := journal.Read[Result](f)
	if err != nil {
		return nil, err
	}
	return byRequest(rs), nil
}

// byRequest is the finished records of a journal's results by request id
// (a later line of one supersedes an earlier; a line without one is not a
// result).
func byRequest(rs []Result) map[string]Result {
	out := map[string]Result{}
	for _, r := range rs {
		if r.RequestID != "" {
			out[r.RequestID] = r
		}
	}
	return out
}

// lock takes dir's lock without waiting; the returned function releases it.
func lock(dir string) (func(), error) {
	path := filepath.Join(dir, LockName)
	l, err := journal.Lock(path)
	if errors.Is(err, journal.ErrLocked) {
		who := "another night"
		if h := journal.Holder(err); h != "" {
			who += ", " + h + ","
		}
		return nil, fmt.Errorf("%w: %w: %s is writing into %s", ErrUsage, ErrLocked, who, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: lock %s: %v", ErrUsage, path, err)
	}
	return func() { l.Release() }, nil
}
