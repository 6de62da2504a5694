package replay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/system"
	"github.com/reprise-dev/reprise/verdict"
)

// Runner starts sessions of a pinned system (launch.Runner):
// runners/docker and runners/process implement it.
type Runner = launch.Runner

// Blobs is what a replay needs of the artifact store: verification, the
// input's bytes and verified copies of the model and config.
type Blobs interface {
	launch.Blobs
	Verify(ctx context.Context, d digest.Digest) (int64, error)
	ReadAll(ctx context.Context, d digest.Digest) ([]byte, error)
}

// ErrHardwareMismatch: the record's hardware class differs from this host's
// and no override was given.
var ErrHardwareMismatch = launch.ErrHardwareMismatch

// Options configure one replay.
type Options struct {
	// N is the number of runs with fresh seeds (default 100); with
	// Sequential it is ignored.
	N int
	// Sequential runs fresh seeds in batches of Batch (default
	// verdict.DefaultBatch) and stops as soon as the verdict is settled
	// (verdict.Decide), at most MaxRuns (default verdict.DefaultMaxRuns).
	Sequential bool
	MaxRuns    int
	Batch      int
	// ReplaySeed seeds the fresh seeds; nil derives it from the request id
	// (DeriveReplaySeed), so a replay is repeatable.
	ReplaySeed *uint64
	// Rules are the verdict rules; zero fields take verdict.DefaultRules.
	Rules verdict.Rules
	// Launch configures the session: host class and override, sandbox
	// limits, timeouts, extra environment.
	Launch launch.Options
	// Explicit says which Launch settings were given explicitly; the
	// others give way to the record's runtime.limits, and the record's
	// runtime.env_vars are added under Launch.Env (which wins).
	Explicit Explicit
	// Progress, when set, is called after each run (done, total).
	Progress func(done, total int)
	// Journal, when set, receives each run as one JSON line the moment it
	// completes, so a replay killed outright still leaves its runs behind.
	Journal io.Writer
	Logger  *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Notes are added to the report's notes (e.g. by Batch: a kept journal).
	Notes []string
	// Warn, when set, is told before any run what may keep the replay
	// from its verdict (too few runs for a check ever to reject); unset,
	// that goes into the report's notes.
	Warn func(msg string)
	// System, when set, finds the record's system check (the pinned eval
	// suite, wired in by cmd), run on the session before the replay's runs.
	System SystemChecker
}

func (o *Options) defaults() {
	if o.N == 0 {
		o.N = 100
	}
	if o.MaxRuns == 0 {
		o.MaxRuns = verdict.DefaultMaxRuns
	}
	if o.Batch == 0 {
		o.Batch = verdict.DefaultBatch
	}
	if o.Sequential {
		o.N = o.MaxRuns
	}
	o.Rules = o.Rules.WithDefaults()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Launch.Logger == nil {
		o.Launch.Logger = o.Logger
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// DeriveReplaySeed is the default replay seed: the first 8 bytes (big
// endian) of sha256("reprise/replay-seed/v1\n" + request id).
func DeriveReplaySeed(requestID string) uint64 {
	sum := sha256.Sum256([]byte("reprise/replay-seed/v1\n" + requestID))
	return binary.BigEndian.Uint64(sum[:8])
}

// Seeds returns the n fresh run seeds derived from a replay seed: draws of a
// PCG generator seeded with (replaySeed, 0x7265707269736521), shifted right
// by one so each fits a non-negative int64.
func Seeds(replaySeed uint64, n int) []int64 {
	rng := rand.New(rand.NewPCG(replaySeed, 0x7265707269736521))
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(rng.Uint64() >> 1)
	}
	return out
}

// RunRow is one run of a replay, as written to runs.parquet.
type RunRow struct {
	Index int      `parquet:"run" json:"run"`
	Kind  string   `parquet:"kind" json:"kind"` // "pinned" (the record's seed) or "replay"
	Seed  int64    `parquet:"seed" json:"seed"`
	Label *string  `parquet:"label,optional" json:"label"`
	Score *float64 `parquet:"score,optional" json:"score"`
	// Text is the answered text when at most MaxRunText bytes; a longer
	// text is kept as TextDigest only, so a replay's memory does not grow
	// with N × the text's size.
	Text       *string `parquet:"text,optional" json:"text"`
	TextDigest string  `parquet:"text_digest,optional" json:"text_digest,omitempty"`
	// OutputDigest is the run's output digest: the sha256 of the answer's
	// canonical bytes (runners.Codec.Canonical; openai: no id, created,
	// usage, model or system_fingerprint), the digest a record's
	// output.digest is, so equal outputs have equal digests across runs.
	// (Before, it was over the raw bytes, and differed on every run of an
	// openai server.)
	OutputDigest string `parquet:"output_digest" json:"output_digest"`
	// LatencyNS is the run's service time (runners.Response.Latency);
	// QueueNS the time it waited behind earlier runs in a pipelined stdio
	// session before its service started (0 one request at a time).
	LatencyNS int64 `parquet:"latency_ns" json:"latency_ns"`
	QueueNS   int64 `parquet:"queue_ns,optional" json:"queue_ns,omitempty"`
	// Logprobs are the answer's token logprobs as the server wrote them
	// (compact JSON; openai with runtime.http.logprobs), when at most
	// MaxRunLogprobs bytes; longer ones are kept as LogprobsDigest only.
	Logprobs       *string `parquet:"logprobs,optional" json:"logprobs,omitempty"`
	LogprobsDigest string  `parquet:"logprobs_digest,optional" json:"logprobs_digest,omitempty"`
	// Outcome is OutcomeOutput, OutcomeError, OutcomeInvalid or OutcomeFailed.
	Outcome string `parquet:"outcome" json:"outcome"`
	Error   string `parquet:"error,optional" json:"error,omitempty"`
}

// Outcomes of a run.
const (
	// OutcomeOutput: the system answered an output; the tests use it.
	OutcomeOutput = "output"
	// OutcomeError: the system answered an error ({"error": …}); counted
	// (Report.ErrorAnswers) but not an output.
	OutcomeError = "error"
	// OutcomeInvalid: the session was found out of step, and this run may
	// carry another request's answer; never used as an output.
	OutcomeInvalid = "invalid"
	// OutcomeFailed: the run failed (crash, timeout, protocol error) and
	// ended the replay.
	OutcomeFailed = "failed"
)

// MaxRunText is the longest text a Run keeps, in bytes (4 KiB).
const MaxRunText = 4 << 10

// MaxRunLogprobs is the longest token logprobs a Run keeps, in bytes (64 KiB).
const MaxRunLogprobs = 64 << 10

// checkText is what the text check sees of a replayed text longer than
// MaxRunText: the whole text when it has at most verdict.MaxConformalBytes
// bytes (ok), else a copy of verdict.CutText's cut — all the check
// compares of any text, so the verdict is the one the full texts give,
// while a replay holds at most N × 64 KiB of texts for it (not N × the
// response size, up to --max-response-size). The exact-match rate
// compares full texts: a text equal to the stored one shares it.
func checkText(t string) (string, bool) {
	cut, whole := verdict.CutText(t)
	if whole {
		return t, true
	}
	return strings.Clone(cut), false
}

// Output is the run's normalized output.
func (r RunRow) Output() output.Output {
	return output.Output{Label: r.Label, Score: r.Score, Text: r.Text}
}

// Result is the outcome of one replay: the report and the runs.
type Result struct {
	Report *Report
	Runs   []RunRow
	// log is the run log of Run, which Decide reads (and drops).
	log *runLog
}

// Replay replays one record through runner: Prepare, then Run on one
// session of the record's system (acquired from a pool of its own, closed
// on every path), then Decide. Integrity is verified first (nothing runs on
// failure). On an error after Prepare, the returned Result still holds the
// report (with Error set) and the runs done so far.
func Replay(ctx context.Context, st Blobs, rec *record.Record, runner Runner, opts Options) (*Result, error) {
	opts.defaults()
	p, err := Prepare(ctx, st, rec, opts)
	if err != nil {
		return p.fail(nil, err, opts)
	}
	pool := launch.NewPool(st, launch.PoolOptions{Runner: runner})
	defer pool.Close(ctx)
	t0 := opts.Now()
	sess, err := pool.Acquire(ctx, p.Target(), p.Launch)
	if err != nil {
		return p.fail(nil, SessionError(err), opts)
	}
	defer pool.Release(ctx, sess, false)
	p.SessionMS = ms(opts.Now().Sub(t0))
	res, err := Run(ctx, sess, p, opts)
	if err != nil {
		return res, err
	}
	return res, Decide(res, opts)
}

// SessionError is the error of a session that could not be acquired: a
// model or config that could not be copied out of the store verified is
// an integrity failure (ErrIntegrity).
func SessionError(err error) error {
	if errors.Is(err, launch.ErrArtifact) && !errors.Is(err, ErrIntegrity) {
		return integrityf("%w", err)
	}
	return err
}

// SystemChecker finds, for a record, evidence about its system that is
// gathered on the replay's session before the replay's own runs (the
// record's pinned eval suite: cmd wires evals' check in; replay does not
// know evals).
type SystemChecker interface {
	// Prepare runs before any session starts: a nil Gather means no check
	// for this record (the notes say why when one was skipped); an error
	// stops the replay.
	Prepare(ctx context.Context, rec *record.Record) (Gather, []string, error)
}

// Gather runs a system check on a started session of the record's system,
// at the record's rules. It is an alias, so a package that may not import
// replay (evals) can return one.
type Gather = func(ctx context.Context, sess *launch.Session, rules verdict.Rules) (verdict.SystemCheck, error)

// Prepared is a record ready to run: verified once, its input read, its
// reference checks built, its system check found, and the session it asks
// for (Target, Launch).
type Prepared struct {
	Record     *record.Record
	Input      []byte
	ReplaySeed uint64
	// Launch is the session's options: the flags, then the record's
	// pinned limits and environment (Options.Explicit says which win).
	Launch      launch.Options
	Environment Environment
	// Checks are the reference checks (verdict.ReferenceChecks), when the
	// record has reference outputs.
	Checks []verdict.Check
	// Notes go into the report.
	Notes []string
	// SessionMS is the time the caller took to acquire the session, in
	// milliseconds (the report's start_session_ms).
	SessionMS  float64
	references int // reference outputs behind Checks
	gather     Gather
	started    time.Time
}

// Target is the session the prepared record asks for.
func (p *Prepared) Target() launch.Target { return launch.FromRecord(p.Record) }

// Prepare verifies rec against st (every digest, once), reads its input and
// reference outputs and prepares its system check. The returned Prepared is
// never nil, so a caller can report an error through it (Fail). Errors
// wrap ErrIntegrity (an *IntegrityError lists the problems) or the system
// checker's.
func Prepare(ctx context.Context, st Blobs, rec *record.Record, opts Options) (*Prepared, error) {
	opts.defaults()
	p := &Prepared{Record: rec, ReplaySeed: DeriveReplaySeed(rec.RequestID), started: opts.Now()}
	if opts.ReplaySeed != nil {
		p.ReplaySeed = *opts.ReplaySeed
	}
	p.Environment = effective(rec, &opts)
	p.Launch = opts.Launch
	if probs := Verify(ctx, st, rec); len(probs) > 0 {
		return p, &IntegrityError{Problems: probs}
	}
	input, err := st.ReadAll(ctx, rec.Input.Digest)
	if err != nil {
		return p, integrityf("input: %v", err)
	}
	p.Input = input
	if opts.System != nil {
		if p.gather, p.Notes, err = opts.System.Prepare(ctx, rec); err != nil {
			return p, err
		}
	}
	if rec.Reference != nil {
		blob, err := st.ReadAll(ctx, rec.Reference.Digest)
		if err != nil {
			return p, integrityf("reference outputs: %v", err)
		}
		ref, err := record.DecodeReference(blob)
		if err != nil {
			return p, integrityf("%v", err)
		}
		p.Checks = verdict.ReferenceChecks(ref, opts.N) // opts.N is the cap of a sequential replay
		p.references = len(ref)
	}
	if w := budgetWarning(rec, opts, p.Checks); w != "" && opts.Warn != nil {
		opts.Warn(rec.RequestID + ": " + w)
	} else if w != "" {
		p.Notes = append(p.Notes, w)
	}
	return p, nil
}

// budgetWarning says, before any run, when the replay's runs (-n, or a
// sequential replay's --max-runs) are too few for the label check ever to
// call the stored label DIVERGED: it needs verdict.RunsToRejectNever at its
// share of alpha (alpha over verdict.CheckCount, with the extra checks;
// the seed probe, which runs only after a mismatch, is not counted, so the
// figure is a floor). "" when the runs suffice or the record has no label.
func budgetWarning(rec *record.Record, opts Options, extra []verdict.Check) string {
	if rec.Output.Label == nil {
		return ""
	}
	c := verdict.CheckCount(rec.Output.Output, extra...)
	r := opts.Rules
	r.Alpha /= float64(max(c, 1))
	need := verdict.RunsToRejectNever(r)
	if opts.N >= need {
		return ""
	}
	if opts.Sequential {
		return fmt.Sprintf("--max-runs %d is too few for the label check ever to call the stored label DIVERGED: that needs at least %d runs at its level %.4g (alpha %g over %d checks), so the replay can end REPRODUCED or INCONCLUSIVE, never DIVERGED on the label; raise --max-runs to %d or more",
			opts.N, need, r.Alpha, opts.Rules.Alpha, c, need)
	}
	return fmt.Sprintf("-n %d is too few for the label check ever to call the stored label DIVERGED: that needs at least %d runs at its level %.4g (alpha %g over %d checks), so the replay can end REPRODUCED or INCONCLUSIVE, never DIVERGED on the label; give -n %d or more, or leave -n out (a sequential replay of at most --max-runs runs, which stops as soon as the verdict is settled)",
		opts.N, need, r.Alpha, opts.Rules.Alpha, c, need)
}

// Fail is the result of a prepared replay that could not run (e.g. its
// session could not be started): the report, with Error set, and err.
func (p *Prepared) Fail(err error, opts Options) (*Result, error) {
	opts.defaults()
	return p.fail(nil, err, opts)
}

// fail ends a replay with err: the runs of l (nil: none) and the report.
func (p *Prepared) fail(l *runLog, err error, opts Options) (*Result, error) {
	res := &Result{}
	if l != nil {
		res = l.res
	} else {
		res.Report = p.report(opts)
	}
	rep := res.Report
	if l != nil && l.sys != nil {
		rep.Eval = l.sys.Section()
	}
	rep.Verdict = verdict.Failed
	rep.Error = err.Error()
	if errors.Is(err, context.Canceled) {
		rep.Error = fmt.Sprintf("interrupted (Ctrl-C or SIGTERM) after %d runs: nothing was decided; the runs so far are in runs.parquet", len(res.Runs))
	}
	rep.finish(opts.Now())
	res.log = nil // the outputs are not kept with the result
	return res, err
}

// report is a new report of the prepared record.
func (p *Prepared) report(opts Options) *Report {
	rep := newReport(p.Record, opts, p.ReplaySeed, p.started)
	if opts.Sequential {
		rep.Replay.MaxRuns, rep.Replay.Batch = opts.MaxRuns, opts.Batch
	}
	rep.Environment = p.Environment
	return rep
}

// Run runs a prepared record on sess: the system check (when prepared), the
// pinned seed (when the record has one), then the fresh seeds, N of them
// or, sequential, until the stopping rule (verdict.Decide) settles it. Each
// run is journaled the moment it completes. sess need not be a session of
// the record's own system: Run replays the record's input on whatever it is
// handed (the report says which runner ran it). Run never starts or closes
// a session. On error the Result holds the report (Error set) and the runs
// done so far.
func Run(ctx context.Context, sess *launch.Session, p *Prepared, opts Options) (*Result, error) {
	opts.defaults()
	l := &runLog{ctx: ctx, sess: sess, p: p, opts: opts, res: &Result{Report: p.report(opts)}}
	l.res.log = l
	if err := l.start(); err != nil {
		return p.fail(l, err, opts)
	}
	if err := l.runPinned(); err != nil {
		return p.fail(l, err, opts)
	}
	if err := l.runFresh(); err != nil {
		return p.fail(l, err, opts)
	}
	if err := l.end(); err != nil {
		return p.fail(l, err, opts)
	}
	return l.res, nil
}

// Decide evaluates the verdict of a Run's result (the sequential rule's
// last evaluation when it settled, else verdict.Evaluate of every check
// over the outputs) and finishes its report. It is the one decision point:
// the system check votes with the others.
func Decide(res *Result, opts Options) error {
	opts.defaults()
	l := res.log
	if l == nil {
		return errors.New("replay: Decide needs the result of Run")
	}
	rep := res.Report
	ev := l.stop.Evaluation
	if ev == nil {
		var err error
		if ev, err = verdict.Evaluate(l.p.Record.Output.Output, l.outs, l.exact, opts.Rules, l.checks...); err != nil {
			_, err = l.p.fail(l, err, opts)
			return err
		}
	}
	rep.Evaluation = *ev
	rep.Verdict = ev.Verdict
	if l.sys != nil {
		rep.Eval = l.sys.Section()
	}
	rep.finish(opts.Now())
	res.log = nil // decided: the outputs are not kept with the result
	return nil
}

// runLog is one Run: the session, the runs and outputs so far, and the
// evidence the verdict is decided on.
type runLog struct {
	ctx  context.Context
	sess *launch.Session
	p    *Prepared
	opts Options
	res  *Result
	// sys is the system check's evidence, sysRuns the requests it sent
	// before the replay's.
	sys     verdict.SystemCheck
	sysRuns int
	checks  []verdict.Check // the reference and system checks
	// pinnedCanon is the pinned-seed run's canonical bytes; exact its
	// comparison with the stored output; probe the seed-determinism
	// probe after a mismatch (nil: none).
	pinnedCanon []byte
	pinnedRaw   digest.Digest // the pinned-seed run's raw bytes' digest
	exact       *bool
	probe       *verdict.SeedProbe
	outs        []output.Output
	cutTexts    int // replayed texts the text check sees cut (checkText)
	stop        verdict.Stop
	t1          time.Time
}

// start fills the report's session sections and runs the system check.
func (l *runLog) start() error {
	rep, rec := l.res.Report, l.p.Record
	rep.Notes = append(rep.Notes, l.p.Notes...)
	if l.sess.HardwareOverride {
		rep.Hardware.Override = true
		rep.Notes = append(rep.Notes, fmt.Sprintf("hardware class mismatch overridden: record %s, host %s; exact reproduction is not expected across classes", rec.Runtime.HardwareClass, l.opts.Launch.HostClass))
	}
	info := l.sess.Info()
	rep.Runner = &info
	rep.Notes = append(rep.Notes, info.Notes...)
	if !info.Pinned {
		why := "the " + info.Runner + " runner ran a local executable, not the pinned image"
		if info.URL != "" {
			why = "the " + info.Runner + " runner replayed against a server already running at " + info.URL + ", not the pinned image"
		}
		rep.Notes = append(rep.Notes, "the environment was not pinned: "+why)
		rep.Environment.Pinned = false
		rep.Environment.Reasons = append([]string{why}, rep.Environment.Reasons...)
	}
	rep.Timings.StartSessionMS = l.p.SessionMS
	// The system check runs first, on this session: its evidence is then
	// fixed for every look of a sequential replay. Its requests come
	// before the replay's in the session's run indices.
	if l.p.gather != nil {
		sys, err := l.p.gather(l.ctx, l.sess, l.opts.Rules)
		if err != nil {
			return err
		}
		l.sys, l.sysRuns = sys, sys.Requests()
	}
	if l.p.references > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the replays are also compared with the record's %d reference outputs (equivalence margin %g)", l.p.references, l.opts.Rules.Margin))
	}
	l.checks = slices.Clip(l.p.Checks)
	if l.sys != nil {
		l.checks = append(l.checks, l.sys)
	}
	l.t1 = l.opts.Now()
	return nil
}

// journal writes r to the journal (Options.Journal) as one JSON line.
func (l *runLog) journal(r RunRow) {
	if l.opts.Journal != nil {
		b, _ := json.Marshal(r)
		l.opts.Journal.Write(append(b, '\n'))
	}
}

// invalidate marks every run that may carry another request's answer (a
// *runners.OutOfStepError names the first; the session's run indices are
// the replay's, after the system check's) and journals it again: the later
// line of a run supersedes the earlier.
func (l *runLog) invalidate(err error) {
	var oos *runners.OutOfStepError
	if !errors.As(err, &oos) {
		return
	}
	rep := l.res.Report
	since := max(0, oos.Since-l.sysRuns) // the replay's index
	if oos.Since < l.sysRuns {
		rep.Notes = append(rep.Notes, "the session was out of step during the eval suite's run: its answers may be other requests'")
	}
	for i := range l.res.Runs {
		r := &l.res.Runs[i]
		if r.Index < since || r.Outcome == OutcomeFailed {
			continue
		}
		*r = RunRow{Index: r.Index, Kind: r.Kind, Seed: r.Seed, OutputDigest: r.OutputDigest, LatencyNS: r.LatencyNS, Outcome: OutcomeInvalid,
			Error: fmt.Sprintf("invalid: the session is out of step since run %d, this run may carry another request's answer", since)}
		l.journal(*r)
	}
	if rep.Exact != nil && since == 0 {
		rep.Exact = nil
		rep.Notes = append(rep.Notes, "the pinned-seed run was invalidated: the session was out of step from its start")
	}
	if rep.Exact != nil && rep.Exact.SeedProbe != nil && since <= rep.Exact.SeedProbe.Run {
		rep.Exact.SeedProbe = nil
		l.checks = slices.DeleteFunc(l.checks, func(c verdict.Check) bool { _, ok := c.(verdict.SeedProbe); return ok })
		rep.Notes = append(rep.Notes, "the seed probe's second pinned-seed run was invalidated: the session was out of step")
	}
}

// account records one run's answer: full is the answered output, out what
// the tests see of it (a long text stands in by the stored text when
// equal, else by its first runes), ok is false for an error answer.
func (l *runLog) account(idx int, kind string, seed int64, resp runners.Response, err error) (r RunRow, full, out output.Output, ok bool, _ error) {
	r = RunRow{Index: idx, Kind: kind, Seed: seed}
	if err != nil {
		var re *runners.RunError
		if !errors.As(err, &re) {
			err = &runners.RunError{Run: idx, Err: err}
		}
		r.Error, r.Outcome = err.Error(), OutcomeFailed
		l.add(r)
		l.invalidate(err)
		return r, full, out, false, err
	}
	canon := l.sess.Codec.Canonical(resp.Raw)
	r.OutputDigest = digest.FromBytes(canon).String()
	r.LatencyNS, r.QueueNS = resp.Latency.Nanoseconds(), resp.Queue.Nanoseconds()
	if lp := resp.Logprobs; len(lp) > MaxRunLogprobs {
		r.LogprobsDigest = digest.FromBytes(lp).String()
	} else if lp != nil {
		s := string(lp)
		r.Logprobs = &s
	}
	if kind == "pinned" {
		l.pinnedCanon, l.pinnedRaw = canon, digest.FromBytes(resp.Raw)
	}
	if resp.Error != "" {
		r.Outcome, r.Error = OutcomeError, "error answer: "+resp.Error
		l.res.Report.ErrorAnswers++
		l.add(r)
		return r, full, out, false, nil
	}
	full = resp.Output
	out = full
	r.Outcome = OutcomeOutput
	r.Label, r.Score, r.Text = full.Label, full.Score, full.Text
	if t := full.Text; t != nil && len(*t) > MaxRunText {
		r.Text, r.TextDigest = nil, digest.FromBytes([]byte(*t)).String()
		out.Text = l.checkedText(*t)
	}
	l.add(r)
	return r, full, out, true, nil
}

// checkedText is what the text check sees of a replayed text longer than
// MaxRunText: the stored text when equal (equal texts stay equal), else
// checkText's cut.
func (l *runLog) checkedText(t string) *string {
	if st := l.p.Record.Output.Text; st != nil && *st == t {
		return st
	}
	cut, whole := checkText(t)
	if !whole {
		l.cutTexts++
	}
	return &cut
}

// add appends r to the runs and journals it.
func (l *runLog) add(r RunRow) {
	l.res.Runs = append(l.res.Runs, r)
	l.journal(r)
}

// runPinned runs the record's pinned seed (when it has one) and compares
// the answer with the stored output. On a mismatch it probes seed
// determinism (probeSeed). A sequential replay whose pinned seed matched
// looks before any fresh seed (an exact match may settle it).
func (l *runLog) runPinned() error {
	rec := l.p.Record
	if rec.Params.Seed == nil {
		return nil
	}
	resp, err := l.sess.Run(l.ctx, runners.Request{Input: l.p.Input, Params: rec.Params.WithSeed(*rec.Params.Seed)})
	r, full, out, ok, err := l.account(0, "pinned", *rec.Params.Seed, resp, err)
	if err != nil {
		return err
	}
	match, basis := false, "the system answered an error"
	if ok {
		match, basis = exactMatch(rec, l.pinnedCanon, l.pinnedRaw, full, l.sess.Codec.Name())
	}
	l.exact = &match
	l.res.Report.Exact = &ExactResult{Seed: *rec.Params.Seed, ExactMatch: match, Basis: basis, OutputDigest: r.OutputDigest,
		Label: r.Label, Score: r.Score, Text: r.Text}
	if !match && ok {
		if err := l.probeSeed(out); err != nil {
			return err
		}
	}
	if l.opts.Sequential && match {
		return l.look(0)
	}
	return nil
}

// probeSeed runs the pinned seed verdict.PinnedRuns − 1 more times (runs
// 1, 2, …, kind "pinned") after a mismatch, and adds its evidence as a
// check that votes (verdict.SeedProbe, with answer, the pinned seed's
// output as the tests see it): bit-identical answers (canonical bytes), of
// an answer the fresh seeds do not give, show the system deterministic
// given the seed, so the stored output did not come from it at this seed
// (DIVERGED, exact); answers that differ show that it does not honour the
// seed, and the behavioral checks decide. The probe runs until the first
// that differs.
func (l *runLog) probeSeed(answer output.Output) error {
	rec, first := l.p.Record, l.pinnedCanon
	identical := true
	var r RunRow
	for i := 1; i < verdict.PinnedRuns && identical; i++ {
		resp, err := l.sess.Run(l.ctx, runners.Request{Input: l.p.Input, Params: rec.Params.WithSeed(*rec.Params.Seed)})
		var ok bool
		if r, _, _, ok, err = l.account(i, "pinned", *rec.Params.Seed, resp, err); err != nil {
			return err
		}
		identical = ok && bytes.Equal(first, l.pinnedCanon)
	}
	l.pinnedCanon = first
	l.probe = &verdict.SeedProbe{Identical: identical, Answer: answer}
	l.checks = append(l.checks, *l.probe)
	finding := SeedIgnoredFinding
	if identical {
		finding = fmt.Sprintf("the %d runs of the pinned seed are bit-identical: the system is deterministic given the seed, so the stored output did not come from it at this seed, unless that answer is common among the fresh seeds (the seed_determinism test decides)", verdict.PinnedRuns)
	}
	l.res.Report.Exact.SeedProbe = &SeedProbeResult{Run: 1, LastRun: r.Index, OutputDigest: r.OutputDigest, Identical: identical, Finding: finding}
	return nil
}

// look applies the sequential stopping rule after done fresh-seed runs.
func (l *runLog) look(done int) error {
	var err error
	if l.stop, err = verdict.Decide(l.p.Record.Output.Output, l.outs, l.exact, l.opts.Rules, done, l.opts.N, l.checks...); err != nil {
		return err
	}
	if l.stop.Settled {
		l.res.Report.Replay.N, l.res.Report.Replay.Stopped = done, l.stop.Why
	}
	return nil
}

// runFresh runs the fresh seeds in chunks that end where a sequential
// replay looks at the evidence; a session that keeps several runs in
// flight (runners.Batcher) gets each chunk at once. A sequential replay
// looks every step runs: Batch, raised to a multiple of it that keeps the
// session's concurrency in flight (an HTTP session drains at each look).
func (l *runLog) runFresh() error {
	if l.stop.Settled {
		return nil
	}
	opts := l.opts
	seeds := CutSeeds(Seeds(l.p.ReplaySeed, opts.N), l.p.Record.Runtime.SeedBits)
	offset := len(l.res.Runs)
	l.outs = make([]output.Output, 0, opts.N)
	step := opts.Batch
	if c := l.sess.Session.Info().Concurrency; opts.Sequential && c > step {
		step = (c + opts.Batch - 1) / opts.Batch * opts.Batch
	}
	var runErr error
	for lo := 0; lo < len(seeds) && runErr == nil && !l.stop.Settled; {
		hi := len(seeds)
		if opts.Sequential {
			hi = min(hi, (lo/step+1)*step)
		}
		runSeeds(l.ctx, l.sess.Session, l.p.Input, l.p.Record.Params, seeds[lo:hi], func(j int, resp runners.Response, err error) bool {
			i := lo + j
			_, _, out, ok, err := l.account(offset+i, "replay", seeds[i], resp, err)
			if err == nil && ok {
				l.outs = append(l.outs, out)
			}
			if err == nil && opts.Progress != nil {
				opts.Progress(i+1, opts.N)
			}
			if err == nil && opts.Sequential && len(l.outs) > 0 && verdict.LookAt(i+1, step, opts.N) {
				err = l.look(i + 1)
			}
			runErr = err
			return err == nil && !l.stop.Settled
		})
		lo = hi
	}
	return runErr
}

// end finishes the session's runs (runners.Finisher: nothing may follow
// the last answer) and fills the report's run sections.
func (l *runLog) end() error {
	rep, opts := l.res.Report, l.opts
	if f, ok := l.sess.Session.(runners.Finisher); ok {
		if err := f.Finish(l.ctx); err != nil {
			l.invalidate(err)
			return err
		}
	}
	if rep.ErrorAnswers > 0 {
		rep.ErrorAnswerRate = float64(rep.ErrorAnswers) / float64(len(l.res.Runs))
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d of %d runs answered an error (rate %.3f); error answers are outcomes, not outputs: the tests use the %d outputs",
			rep.ErrorAnswers, len(l.res.Runs), rep.ErrorAnswerRate, len(l.outs)))
	}
	if len(l.outs) == 0 && rep.ErrorAnswers > 0 {
		return fmt.Errorf("every fresh-seed run answered an error (%d error answers): no output to test", rep.ErrorAnswers)
	}
	rep.Timings.RunsMS = ms(opts.Now().Sub(l.t1))
	if n := len(l.res.Runs); n > 0 {
		rep.Timings.MeanRunMS = rep.Timings.RunsMS / float64(n)
	}
	info := l.sess.Info() // what the server said during the runs (fingerprints)
	rep.Runner = &info
	rep.compareServer(l.p.Record, info)
	if l.cutTexts > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d replayed texts are longer than %d bytes: the text check compared their first %d bytes (to a rune boundary), as it does for every text (verdict.MaxConformalBytes)",
			l.cutTexts, verdict.MaxConformalBytes, verdict.MaxConformalBytes))
	}
	textDetails(rep, l.p.Record, l.outs)
	return nil
}

// runSeeds runs one request per seed and calls yield with each answer in
// seed order: through runners.Batcher when the session keeps several runs
// in flight, else one Run at a time. It stops when yield returns false.
func runSeeds(ctx context.Context, sess runners.Session, input []byte, params system.Params, seeds []int64, yield func(j int, resp runners.Response, err error) bool) {
	if b, ok := sess.(runners.Batcher); ok {
		reqs := make([]runners.Request, len(seeds))
		for j, seed := range seeds {
			reqs[j] = runners.Request{Input: input, Params: params.WithSeed(seed)}
		}
		b.RunBatch(ctx, reqs, yield)
		return
	}
	for j, seed := range seeds {
		resp, err := sess.Run(ctx, runners.Request{Input: input, Params: params.WithSeed(seed)})
		if !yield(j, resp, err) {
			return
		}
	}
}

// exactMatch compares the pinned-seed run with the stored output: the
// output digest, over the response's canonical bytes (as its codec, named
// codec, defines them: runners.Codec.Canonical, what capture stores), or,
// for records made without the response's bytes, the digest of the
// canonical normalized output, or, for records made before the output
// digest was canonical from a raw response file, the digest of the raw
// bytes (raw: an answer with ids or times matches only byte for byte).
// The basis says which matched (the first, on a mismatch).
func exactMatch(rec *record.Record, canonical []byte, raw digest.Digest, out output.Output, codec string) (bool, string) {
	basis := "the " + codec + " codec's canonical response bytes"
	switch rec.Output.Digest {
	case digest.FromBytes(canonical):
		return true, basis
	case digest.FromBytes(out.Canonical()):
		return true, "canonical normalized output"
	case raw:
		return true, "raw response bytes (a record whose output digest is over the raw response)"
	}
	return false, basis
}

// IntegrityError lists the integrity problems that stopped a replay.
type IntegrityError struct {
	Problems []record.Problem
}

func (e *IntegrityError) Error() string {
	s := "integrity failure:"
	for _, p := range e.Problems {
		s += " " + p.String() + ";"
	}
	return s[:len(s)-1]
}

// Unwrap returns ErrIntegrity.
func (e *IntegrityError) Unwrap() error { return ErrIntegrity }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// textDetails adds, for a stored text, where the pinned-seed replay first
// diverged from it and the most typical replay (the smallest nonconformity
// of the text check).
func textDetails(rep *Report, rec *record.Record, outs []output.Output) {
	st := rec.Output.Text
	if st == nil {
		return
	}
	if rep.Exact != nil && rep.Exact.Text != nil && !rep.Exact.ExactMatch {
		d := verdict.FirstDivergence(*st, *rep.Exact.Text)
		rep.Exact.Divergence = &d
	}
	texts := []string{*st}
	for _, o := range outs {
		if o.Text != nil {
			texts = append(texts, *o.Text)
		}
	}
	if c := verdict.ConformalText(texts); c.Typical >= 0 {
		typical := texts[c.Typical+1] // a copy: a pointer into texts would keep every text alive
		rep.TypicalText = &typical
	}
}
