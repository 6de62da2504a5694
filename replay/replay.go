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
	"os"
	"path/filepath"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/runners"
)

// Runner starts sessions of a pinned system. runners/docker and
// runners/process implement it.
type Runner interface {
	Start(ctx context.Context, spec runners.Spec) (runners.Session, error)
}

// ErrHardwareMismatch: the record's hardware class differs from this host's
// and no override was given.
var ErrHardwareMismatch = errors.New("hardware class mismatch")

// Options configure one replay.
type Options struct {
	// N is the number of runs with fresh seeds (default 100).
	N int
	// ReplaySeed seeds the fresh seeds; nil derives it from the request id
	// (DeriveReplaySeed), so a replay is repeatable.
	ReplaySeed *uint64
	Rules      Rules
	// HostClass is this host's hardware class.
	HostClass             string
	AllowHardwareMismatch bool
	Limits                runners.Limits
	RunTimeout            time.Duration
	SessionTimeout        time.Duration
	// Env is extra environment for the replayed system.
	Env map[string]string
	// WorkDir holds the per-session copies of model and config ("" = os.TempDir()).
	WorkDir string
	// Progress, when set, is called after each run (done, total).
	Progress func(done, total int)
	// Journal, when set, receives each run as one JSON line the moment it
	// completes, so a replay killed outright still leaves its runs behind.
	Journal io.Writer
	Logger  *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.N == 0 {
		o.N = 100
	}
	if o.Rules.Conf == 0 {
		o.Rules.Conf = 0.95
	}
	if o.Rules.Alpha == 0 {
		o.Rules.Alpha = 0.05
	}
	if o.Rules.MinFrequency == 0 {
		o.Rules.MinFrequency = 0.01
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
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
	Index        int      `parquet:"run" json:"run"`
	Kind         string   `parquet:"kind" json:"kind"` // "pinned" (the record's seed) or "replay"
	Seed         int64    `parquet:"seed" json:"seed"`
	Label        *string  `parquet:"label,optional" json:"label"`
	Score        *float64 `parquet:"score,optional" json:"score"`
	Text         *string  `parquet:"text,optional" json:"text"`
	OutputDigest string   `parquet:"output_digest" json:"output_digest"`
	LatencyNS    int64    `parquet:"latency_ns" json:"latency_ns"`
	Error        string   `parquet:"error,optional" json:"error,omitempty"`
}

// Result is the outcome of one replay: the report and the runs.
type Result struct {
	Report *Report
	Runs   []Run
}

// Replay replays one verified record through runner. It verifies integrity
// first (nothing runs on failure), checks the hardware class, starts one
// session, runs the pinned seed (when the record has one) and N fresh seeds,
// and evaluates the verdict. On an error after runs began, the returned
// Result still holds the report (with Error set) and the runs done so far.
func Replay(ctx context.Context, st *store.Store, rec *record.Record, runner Runner, opts Options) (*Result, error) {
	opts.defaults()
	started := opts.Now()
	replaySeed := DeriveReplaySeed(rec.RequestID)
	if opts.ReplaySeed != nil {
		replaySeed = *opts.ReplaySeed
	}
	rep := newReport(rec, opts, replaySeed, started)
	res := &Result{Report: rep}
	fail := func(err error) (*Result, error) {
		rep.Verdict = Failed
		rep.Error = err.Error()
		rep.finish(opts.Now())
		return res, err
	}

	if probs := Verify(ctx, st, rec); len(probs) > 0 {
		return fail(&IntegrityError{Problems: probs})
	}
	if opts.HostClass != rec.Runtime.HardwareClass {
		if !opts.AllowHardwareMismatch {
			return fail(fmt.Errorf("%w: record %s was decided on %s, this host is %s (use --allow-hardware-mismatch to replay anyway)",
				ErrHardwareMismatch, rec.RequestID, rec.Runtime.HardwareClass, opts.HostClass))
		}
		rep.Hardware.Override = true
		rep.Notes = append(rep.Notes, fmt.Sprintf("hardware class mismatch overridden: record %s, host %s; exact reproduction is not expected across classes", rec.Runtime.HardwareClass, opts.HostClass))
	}
	t0 := opts.Now()
	sess, input, cleanup, err := startSession(ctx, st, rec, runner, &opts)
	if err != nil {
		return fail(err)
	}
	defer cleanup()
	info := sess.Info()
	rep.Runner = &info
	if !info.Pinned {
		rep.Notes = append(rep.Notes, "the environment was not pinned: the "+info.Runner+" runner ran a local executable, not the pinned image")
	}
	rep.Timings.StartSessionMS = ms(opts.Now().Sub(t0))

	journal := func(r Run) {
		if opts.Journal != nil {
			b, _ := json.Marshal(r)
			opts.Journal.Write(append(b, '\n'))
		}
	}
	base := runners.Params{Temperature: rec.Params.Temperature, TopP: rec.Params.TopP, MaxTokens: rec.Params.MaxTokens}
	runOne := func(idx int, kind string, seed int64) (Run, error) {
		p := base
		p.Seed = &seed
		resp, err := sess.Run(ctx, runners.Request{Input: input, Params: p})
		r := Run{Index: idx, Kind: kind, Seed: seed}
		if err != nil {
			var re *runners.RunError
			if !errors.As(err, &re) {
				err = &runners.RunError{Run: idx, Err: err}
			}
			r.Error = err.Error()
			res.Runs = append(res.Runs, r)
			journal(r)
			return r, err
		}
		r.Label, r.Score, r.Text = resp.Label, resp.Score, resp.Text
		r.OutputDigest = digest.FromBytes(resp.Raw).String()
		r.LatencyNS = resp.Latency.Nanoseconds()
		res.Runs = append(res.Runs, r)
		journal(r)
		return r, nil
	}

	t1 := opts.Now()
	var exact *bool
	if rec.Params.Seed != nil {
		r, err := runOne(0, "pinned", *rec.Params.Seed)
		if err != nil {
			return fail(err)
		}
		match, basis := exactMatch(rec, r)
		exact = &match
		rep.Exact = &ExactResult{Seed: *rec.Params.Seed, ExactMatch: match, Basis: basis, OutputDigest: r.OutputDigest,
			Label: r.Label, Score: r.Score, Text: r.Text}
	}
	offset := len(res.Runs)
	outs := make([]Outcome, 0, opts.N)
	for i, seed := range Seeds(replaySeed, opts.N) {
		r, err := runOne(offset+i, "replay", seed)
		if err != nil {
			return fail(err)
		}
		outs = append(outs, Outcome{Label: r.Label, Score: r.Score, Text: r.Text})
		if opts.Progress != nil {
			opts.Progress(i+1, opts.N)
		}
	}
	rep.Timings.RunsMS = ms(opts.Now().Sub(t1))
	if n := len(res.Runs); n > 0 {
		rep.Timings.MeanRunMS = rep.Timings.RunsMS / float64(n)
	}
	ev, err := Evaluate(Outcome{rec.Output.Label, rec.Output.Score, rec.Output.Text}, outs, exact, opts.Rules)
	if err != nil {
		return fail(err)
	}
	rep.Evaluation = *ev
	rep.Verdict = ev.Verdict
	rep.finish(opts.Now())
	return res, nil
}

// startSession reads the verified input, hands verified copies of the model
// and config to the runner and starts one session. cleanup closes the
// session (also when ctx is cancelled) and removes the copies.
func startSession(ctx context.Context, st *store.Store, rec *record.Record, runner Runner, opts *Options) (runners.Session, []byte, func(), error) {
	input, err := st.ReadAll(rec.Input.Digest)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: input: %v", ErrIntegrity, err)
	}
	if rec.Runtime.Protocol != "jsonl-stdio" {
		return nil, nil, nil, fmt.Errorf("%w: protocol %s is not implemented yet (jsonl-stdio is)", runners.ErrUnsupported, rec.Runtime.Protocol)
	}
	if !json.Valid(input) {
		return nil, nil, nil, fmt.Errorf("%w: input %s is not JSON; the jsonl-stdio protocol sends the input as a JSON value", ErrUsage, rec.Input.Digest)
	}
	work, err := os.MkdirTemp(opts.WorkDir, "reprise-session-")
	if err != nil {
		return nil, nil, nil, err
	}
	removeWork := func() { os.RemoveAll(work) }
	if err := os.Chmod(work, 0o755); err != nil { // the sandbox user must read the copies
		removeWork()
		return nil, nil, nil, err
	}
	modelPath, configPath := filepath.Join(work, "model"), filepath.Join(work, "config")
	if err := st.CopyTo(rec.System.Model.Digest, modelPath); err != nil {
		removeWork()
		return nil, nil, nil, fmt.Errorf("%w: model: %v", ErrIntegrity, err)
	}
	if err := st.CopyTo(rec.System.Config.Digest, configPath); err != nil {
		removeWork()
		return nil, nil, nil, fmt.Errorf("%w: config: %v", ErrIntegrity, err)
	}
	spec := runners.Spec{
		Image: rec.System.Image, ModelPath: modelPath, ConfigPath: configPath,
		Env: opts.Env, Protocol: rec.Runtime.Protocol, HardwareClass: rec.Runtime.HardwareClass, Limits: opts.Limits,
		RunTimeout: opts.RunTimeout, SessionTimeout: opts.SessionTimeout,
		Labels: map[string]string{"reprise.request_id": rec.RequestID, "reprise.system_id": rec.System.ID.String()},
	}
	opts.Logger.Info("starting session", "image", spec.Image)
	sess, err := runner.Start(ctx, spec)
	if err != nil {
		removeWork()
		return nil, nil, nil, fmt.Errorf("start %s: %w", rec.System.Image, err)
	}
	return sess, input, func() {
		sess.Close(context.WithoutCancel(ctx))
		removeWork()
	}, nil
}

// Capture runs the pinned system of rec once on its input with its params
// (the seed included) and returns the response: how a decision record is
// made from a live system. The record's output is not read.
func Capture(ctx context.Context, st *store.Store, rec *record.Record, runner Runner, opts Options) (runners.Response, runners.Info, error) {
	opts.defaults()
	sess, input, cleanup, err := startSession(ctx, st, rec, runner, &opts)
	if err != nil {
		return runners.Response{}, runners.Info{}, err
	}
	defer cleanup()
	p := runners.Params{Seed: rec.Params.Seed, Temperature: rec.Params.Temperature, TopP: rec.Params.TopP, MaxTokens: rec.Params.MaxTokens}
	resp, err := sess.Run(ctx, runners.Request{Input: input, Params: p})
	return resp, sess.Info(), err
}

// exactMatch compares the pinned-seed run with the stored output: the raw
// response bytes' digest, or, for records made without raw bytes, the digest
// of the canonical normalized output.
func exactMatch(rec *record.Record, r Run) (bool, string) {
	if r.OutputDigest == rec.Output.Digest.String() {
		return true, "raw response bytes"
	}
	if digest.FromBytes(record.CanonicalOutput(r.Label, r.Score, r.Text)) == rec.Output.Digest {
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
