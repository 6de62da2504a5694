package replay

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
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
	// Sequential runs fresh seeds in batches of Batch (default 50) and stops
	// as soon as the verdict is settled (Decide), at most MaxRuns (default
	// 1000).
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
	// Evals configure the replay of the record's pinned eval suite on the
	// same session (EvalOptions; off without a store).
	Evals EvalOptions
}

func (o *Options) defaults() {
	if o.N == 0 {
		o.N = 100
	}
	if o.MaxRuns == 0 {
		o.MaxRuns = DefaultMaxRuns
	}
	if o.Batch == 0 {
		o.Batch = DefaultBatch
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

// Run is one run of a replay, as written to runs.parquet.
type Run struct {
	Index int      `parquet:"run" json:"run"`
	Kind  string   `parquet:"kind" json:"kind"` // "pinned" (the record's seed) or "replay"
	Seed  int64    `parquet:"seed" json:"seed"`
	Label *string  `parquet:"label,optional" json:"label"`
	Score *float64 `parquet:"score,optional" json:"score"`
	// Text is the answered text when at most MaxRunText bytes; a longer
	// text is kept as TextDigest only, so a replay's memory does not grow
	// with N × the text's size.
	Text         *string `parquet:"text,optional" json:"text"`
	TextDigest   string  `parquet:"text_digest,optional" json:"text_digest,omitempty"`
	OutputDigest string  `parquet:"output_digest" json:"output_digest"`
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
// MaxRunText: the whole text when it has at most verdict.MaxConformalRunes
// runes (ok), else a copy of its first MaxConformalRunes runes — all the
// check compares of any text, so the verdict is the one the full texts
// give, while a replay holds at most N × MaxConformalRunes runes of texts
// (not N × the response size, up to --max-response-size). The exact-match
// rate compares full texts: a text equal to the stored one shares it.
func checkText(t string) (string, bool) {
	n := 0
	for i := range t {
		if n == verdict.MaxConformalRunes {
			return strings.Clone(t[:i]), false
		}
		n++
	}
	return t, true
}

// Output is the run's normalized output.
func (r Run) Output() output.Output {
	return output.Output{Label: r.Label, Score: r.Score, Text: r.Text}
}

// Result is the outcome of one replay: the report and the runs.
type Result struct {
	Report *Report
	Runs   []Run
}

// Replay replays one record through runner. It verifies integrity first
// (nothing runs on failure), starts one session (launch: hardware class,
// verified model and config), runs the pinned seed (when the record has one)
// and N fresh seeds, and evaluates the verdict. On an error after the
// session started, the returned Result still holds the report (with Error
// set) and the runs done so far.
func Replay(ctx context.Context, st Blobs, rec *record.Record, runner Runner, opts Options) (*Result, error) {
	opts.defaults()
	started := opts.Now()
	replaySeed := DeriveReplaySeed(rec.RequestID)
	if opts.ReplaySeed != nil {
		replaySeed = *opts.ReplaySeed
	}
	environment := effective(rec, &opts)
	rep := newReport(rec, opts, replaySeed, started)
	if opts.Sequential {
		rep.Replay.MaxRuns, rep.Replay.Batch = opts.MaxRuns, opts.Batch
	}
	rep.Environment = environment
	res := &Result{Report: rep}
	var ec *evalCheck
	fail := func(err error) (*Result, error) {
		if ec != nil {
			rep.Eval = ec.section()
		}
		rep.Verdict = verdict.Failed
		rep.Error = err.Error()
		rep.finish(opts.Now())
		return res, err
	}

	if probs := Verify(ctx, st, rec); len(probs) > 0 {
		return fail(&IntegrityError{Problems: probs})
	}
	input, err := st.ReadAll(ctx, rec.Input.Digest)
	if err != nil {
		return fail(fmt.Errorf("%w: input: %v", ErrIntegrity, err))
	}
	pinnedSuite, notes, err := prepareEval(ctx, rec, opts.Evals)
	if err != nil {
		return fail(err)
	}
	rep.Notes = append(rep.Notes, notes...)
	t0 := opts.Now()
	sess, err := launch.Start(ctx, st, launch.FromRecord(rec), runner, opts.Launch)
	if err != nil {
		if errors.Is(err, launch.ErrArtifact) {
			err = fmt.Errorf("%w: %w", ErrIntegrity, err)
		}
		return fail(err)
	}
	defer sess.Close(ctx)
	if sess.HardwareOverride {
		rep.Hardware.Override = true
		rep.Notes = append(rep.Notes, fmt.Sprintf("hardware class mismatch overridden: record %s, host %s; exact reproduction is not expected across classes", rec.Runtime.HardwareClass, opts.Launch.HostClass))
	}
	info := sess.Info()
	rep.Runner = &info
	if !info.Pinned {
		why := "the " + info.Runner + " runner ran a local executable, not the pinned image"
		if info.URL != "" {
			why = "the " + info.Runner + " runner replayed against a server already running at " + info.URL + ", not the pinned image"
		}
		rep.Notes = append(rep.Notes, "the environment was not pinned: "+why)
		rep.Environment.Pinned = false
		rep.Environment.Reasons = append([]string{why}, rep.Environment.Reasons...)
	}
	rep.Timings.StartSessionMS = ms(opts.Now().Sub(t0))
	// The pinned eval suite runs first, on this session: its evidence is
	// then fixed for every look of a sequential replay. Its requests come
	// before the replay's in the session's run indices.
	evalRuns := 0
	if pinnedSuite != nil {
		if ec, err = runEval(ctx, pinnedSuite, sess, rec, opts); err != nil {
			return fail(err)
		}
		evalRuns = ec.r.Requests
	}

	journal := func(r Run) {
		if opts.Journal != nil {
			b, _ := json.Marshal(r)
			opts.Journal.Write(append(b, '\n'))
		}
	}
	// invalidate marks every run that may carry another request's answer
	// (a *runners.OutOfStepError names the first; the session's run
	// indices are the replay's) and journals it again: the later line of a
	// run supersedes the earlier.
	invalidate := func(err error) {
		var oos *runners.OutOfStepError
		if !errors.As(err, &oos) {
			return
		}
		since := max(0, oos.Since-evalRuns) // the replay's index
		if oos.Since < evalRuns {
			rep.Notes = append(rep.Notes, "the session was out of step during the eval suite's run: its answers may be other requests'")
		}
		for i := range res.Runs {
			r := &res.Runs[i]
			if r.Index < since || r.Outcome == OutcomeFailed {
				continue
			}
			*r = Run{Index: r.Index, Kind: r.Kind, Seed: r.Seed, OutputDigest: r.OutputDigest, LatencyNS: r.LatencyNS, Outcome: OutcomeInvalid,
				Error: fmt.Sprintf("invalid: the session is out of step since run %d, this run may carry another request's answer", since)}
			journal(*r)
		}
		if rep.Exact != nil && since == 0 {
			rep.Exact = nil
			rep.Notes = append(rep.Notes, "the pinned-seed run was invalidated: the session was out of step from its start")
		}
	}
	var pinnedCanon []byte
	cutTexts := 0 // replayed texts the text check sees cut (checkText)
	var account func(idx int, kind string, seed int64, resp runners.Response, err error) (r Run, full, out output.Output, ok bool, _ error)
	// runOne runs one seed; out is what the tests see of an output (a long
	// text stands in by the stored text when equal, else by its digest), ok
	// is false for an error answer.
	runOne := func(idx int, kind string, seed int64) (r Run, full, out output.Output, ok bool, err error) {
		resp, err := sess.Run(ctx, runners.Request{Input: input, Params: rec.Params.WithSeed(seed)})
		return account(idx, kind, seed, resp, err)
	}
	account = func(idx int, kind string, seed int64, resp runners.Response, err error) (r Run, full, out output.Output, ok bool, _ error) {
		r = Run{Index: idx, Kind: kind, Seed: seed}
		if err != nil {
			var re *runners.RunError
			if !errors.As(err, &re) {
				err = &runners.RunError{Run: idx, Err: err}
			}
			r.Error, r.Outcome = err.Error(), OutcomeFailed
			res.Runs = append(res.Runs, r)
			journal(r)
			invalidate(err)
			return r, full, out, false, err
		}
		r.OutputDigest = digest.FromBytes(resp.Raw).String()
		r.LatencyNS, r.QueueNS = resp.Latency.Nanoseconds(), resp.Queue.Nanoseconds()
		if lp := resp.Logprobs; len(lp) > MaxRunLogprobs {
			r.LogprobsDigest = digest.FromBytes(lp).String()
		} else if lp != nil {
			s := string(lp)
			r.Logprobs = &s
		}
		if kind == "pinned" {
			pinnedCanon = sess.Codec.Canonical(resp.Raw)
		}
		if resp.Error != "" {
			r.Outcome, r.Error = OutcomeError, "error answer: "+resp.Error
			rep.ErrorAnswers++
			res.Runs = append(res.Runs, r)
			journal(r)
			return r, full, out, false, nil
		}
		full = resp.Output
		out = full
		r.Outcome = OutcomeOutput
		r.Label, r.Score, r.Text = full.Label, full.Score, full.Text
		if t := full.Text; t != nil && len(*t) > MaxRunText {
			d := digest.FromBytes([]byte(*t)).String()
			r.Text, r.TextDigest = nil, d
			if st := rec.Output.Text; st != nil && *st == *t {
				out.Text = st // share the stored text: equal texts stay equal
			} else if cut, ok := checkText(*t); ok {
				out.Text = &cut
			} else {
				out.Text = &cut
				cutTexts++
			}
		}
		res.Runs = append(res.Runs, r)
		journal(r)
		return r, full, out, true, nil
	}

	var extra []verdict.Check
	if rec.Reference != nil {
		blob, err := st.ReadAll(ctx, rec.Reference.Digest)
		if err != nil {
			return fail(fmt.Errorf("%w: reference outputs: %v", ErrIntegrity, err))
		}
		ref, err := record.DecodeReference(blob)
		if err != nil {
			return fail(fmt.Errorf("%w: %v", ErrIntegrity, err))
		}
		extra = verdict.ReferenceChecks(ref, opts.N) // opts.N is the cap of a sequential replay
		rep.Notes = append(rep.Notes, fmt.Sprintf("the replays are also compared with the record's %d reference outputs (equivalence margin %g)", len(ref), opts.Rules.Margin))
	}
	if ec != nil {
		extra = append(extra, ec)
	}
	t1 := opts.Now()
	var exact *bool
	if rec.Params.Seed != nil {
		r, full, _, ok, err := runOne(0, "pinned", *rec.Params.Seed)
		if err != nil {
			return fail(err)
		}
		match, basis := false, "the system answered an error"
		if ok {
			match, basis = exactMatch(rec, pinnedCanon, full)
		}
		exact = &match
		rep.Exact = &ExactResult{Seed: *rec.Params.Seed, ExactMatch: match, Basis: basis, OutputDigest: r.OutputDigest,
			Label: r.Label, Score: r.Score, Text: r.Text}
	}
	offset := len(res.Runs)
	outs := make([]output.Output, 0, opts.N)
	var stop Stop
	seeds := Seeds(replaySeed, opts.N)
	if opts.Sequential && exact != nil && *exact {
		// A look before any fresh seed: an exact match settles it.
		if stop, err = Decide(rec.Output.Output, nil, exact, opts.Rules, 0, opts.N, extra...); err != nil {
			return fail(err)
		}
		if stop.Settled {
			rep.Replay.N, rep.Replay.Stopped, seeds = 0, stop.Why, nil
		}
	}
	var runErr error
	// The fresh seeds go in chunks that end where a sequential replay looks
	// at the evidence; a session that keeps several runs in flight
	// (runners.Batcher) gets each chunk at once.
	// A sequential replay looks every step runs: --batch, raised to a
	// multiple of it that keeps --concurrency requests in flight (an HTTP
	// session drains at each look).
	step := opts.Batch
	if c := sess.Session.Info().Concurrency; opts.Sequential && c > step {
		step = (c + opts.Batch - 1) / opts.Batch * opts.Batch
	}
	for lo := 0; lo < len(seeds) && runErr == nil && !stop.Settled; {
		hi := len(seeds)
		if opts.Sequential {
			hi = min(hi, (lo/step+1)*step)
		}
		runSeeds(ctx, sess.Session, input, rec.Params, seeds[lo:hi], func(j int, resp runners.Response, err error) bool {
			i := lo + j
			_, _, out, ok, err := account(offset+i, "replay", seeds[i], resp, err)
			if err != nil {
				runErr = err
				return false
			}
			if ok {
				outs = append(outs, out)
			}
			if opts.Progress != nil {
				opts.Progress(i+1, opts.N)
			}
			if opts.Sequential && len(outs) > 0 && lookAt(i+1, step, opts.N) {
				if stop, err = Decide(rec.Output.Output, outs, exact, opts.Rules, i+1, opts.N, extra...); err != nil {
					runErr = err
					return false
				}
				if stop.Settled {
					rep.Replay.N, rep.Replay.Stopped = i+1, stop.Why
					return false
				}
			}
			return true
		})
		lo = hi
	}
	if runErr != nil {
		return fail(runErr)
	}
	if f, ok := sess.Session.(runners.Finisher); ok {
		if err := f.Finish(ctx); err != nil {
			invalidate(err)
			return fail(err)
		}
	}
	if rep.ErrorAnswers > 0 {
		rep.ErrorAnswerRate = float64(rep.ErrorAnswers) / float64(len(res.Runs))
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d of %d runs answered an error (rate %.3f); error answers are outcomes, not outputs: the tests use the %d outputs",
			rep.ErrorAnswers, len(res.Runs), rep.ErrorAnswerRate, len(outs)))
	}
	if len(outs) == 0 && rep.ErrorAnswers > 0 {
		return fail(fmt.Errorf("every fresh-seed run answered an error (%d error answers): no output to test", rep.ErrorAnswers))
	}
	rep.Timings.RunsMS = ms(opts.Now().Sub(t1))
	if n := len(res.Runs); n > 0 {
		rep.Timings.MeanRunMS = rep.Timings.RunsMS / float64(n)
	}
	info = sess.Info() // what the server said during the runs (fingerprints)
	rep.Runner = &info
	if cutTexts > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d replayed texts are longer than %d runes: the text check compared their first %d runes, as it does for every text (verdict.MaxConformalRunes)",
			cutTexts, verdict.MaxConformalRunes, verdict.MaxConformalRunes))
	}
	textDetails(rep, rec, outs)
	ev := stop.Evaluation
	if ev == nil {
		if ev, err = verdict.Evaluate(rec.Output.Output, outs, exact, opts.Rules, extra...); err != nil {
			return fail(err)
		}
	}
	rep.Evaluation = *ev
	rep.Verdict = ev.Verdict
	if ec != nil {
		foldEval(rep, ec)
	}
	rep.finish(opts.Now())
	return res, nil
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
// digest of the response's canonical bytes (as its codec defines them), or,
// for records made without raw bytes, the digest of the canonical
// normalized output.
func exactMatch(rec *record.Record, canonical []byte, out output.Output) (bool, string) {
	if digest.FromBytes(canonical) == rec.Output.Digest {
		return true, "raw response bytes"
	}
	if digest.FromBytes(out.Canonical()) == rec.Output.Digest {
		return true, "canonical normalized output"
	}
	return false, "raw response bytes"
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
