package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/render"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/docker"
	"github.com/reprise-dev/reprise/runners/endpoint"
	"github.com/reprise-dev/reprise/runopts"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/system"
	"github.com/reprise-dev/reprise/verdict"
)

// The pinned eval suite is the replay's system check.
var _ replay.SystemChecker = evals.Checker{}

// runnerOptions are the runner flags (shared by replay, nightly, the
// evals verbs and record create --capture): runopts.Options, as given.
type runnerOptions struct{ runopts.Options }

func (o *runnerOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.Runner, "runner", "docker", "runner: docker (the pinned image, sandboxed), process (a local executable, environment not pinned) or endpoint (a running HTTP server, environment not pinned)")
	completes(cmd, "runner", "docker", "process", "endpoint")
	f.StringVar(&o.Entrypoint, "entrypoint", "", "executable for --runner process")
	f.StringVar(&o.URL, "url", "", "base URL of the running server for --runner endpoint, e.g. http://gpu-7:8000 (basic auth: http://USER@HOST with the password in $"+endpoint.PasswordEnv+" or --url-credentials-file)")
	f.StringVar(&o.CredentialsFile, "url-credentials-file", "", "file holding USER:PASSWORD, the basic auth of --url (reports show the password as ***)")
	f.DurationVar(&o.StartTimeout, "start-timeout", runners.DefaultStartTimeout, "timeout of the first run, which includes the system's start-up (model load)")
	f.DurationVar(&o.RunTimeout, "run-timeout", runners.DefaultRunTimeout, "timeout of every later run")
	f.DurationVar(&o.SessionTimeout, "session-timeout", runners.DefaultSessionTimeout, "timeout of the whole session")
	f.StringVar(&o.Memory, "memory", system.FormatBytes(docker.DefaultMemory), "memory limit of the sandbox (e.g. 512m, 2g)")
	f.Float64Var(&o.CPUs, "cpus", docker.DefaultNanoCPUs/1e9, "CPU limit of the sandbox")
	f.Int64Var(&o.Pids, "pids", docker.DefaultPids, "process limit of the sandbox (threads count)")
	f.StringVar(&o.TmpfsSize, "tmpfs-size", system.FormatBytes(docker.DefaultTmpfs), "size of the sandbox's writable /tmp (also HOME)")
	f.BoolVar(&o.Offline, "offline", false, "never pull, not even from an --allow-registry: an image absent from the engine is an error")
	f.StringArrayVar(&o.AllowRegistry, "allow-registry", nil, "registry HOST[:PORT] that images absent from the engine may be pulled from (repeatable; none by default: only images already on the engine are used)")
	f.StringArrayVar(&o.Env, "env", nil, "extra environment for the replayed system, KEY=VALUE (repeatable)")
	f.StringVar(&o.MaxResponseSize, "max-response-size", system.FormatBytes(runners.DefaultMaxResponseBytes), "largest response accepted from the system (e.g. 512k, 4m, 64m); a larger one is a protocol error")
	f.StringVar(&o.GPUs, "gpus", "", "GPUs of a gpu/nvidia system, as docker run --gpus: all, N, or device=ID[,ID…] (indices or UUIDs, nvidia-smi -L); default: as many as the record's class ran on")
	o.Given = f.Changed
}

// open reads the session settings of the flags, logging to log, and opens
// the existing store: what a verb that replays needs first.
func (o *runnerOptions) open(ctx context.Context, g *globalOptions, log *slog.Logger) (launch.Options, *store.Layout, error) {
	lo, err := o.Launch(ctx)
	if err != nil {
		return lo, nil, err
	}
	lo.Logger = log
	st, err := openStore(g)
	return lo, st, err
}

// replayOptions are the flags of replay (and attribute): the runner, the
// replay request, the pinned eval suite's check and the outputs.
type replayOptions struct {
	runnerOptions
	replay.Request
	Out        string
	Output     outputFormat
	Evals      string
	EvalMargin float64
	Against    string
}

func addReplayCmd(root *cobra.Command, g *globalOptions, s *streams) {
	o := &replayOptions{}
	cmd := newCommand("replay RECORD...", "Replay decision records N times and test whether the stored output reproduces",
		help("replay"), cobra.MinimumNArgs(1),
		func(ctx context.Context, args []string) error { return runReplay(ctx, g, s, o, args) })
	o.addRequestFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.Evals, "evals", string(evals.CheckAuto), "replay the record's pinned eval suite: auto (when the store holds a run of its system on it), on (required) or off")
	completes(cmd, "evals", string(evals.CheckAuto), string(evals.CheckOn), string(evals.CheckOff))
	f.Float64Var(&o.EvalMargin, "eval-margin", evals.DefaultEvalMargin, "equivalence margin of the pinned eval suite's mean score")
	addDestFlag(cmd, &o.Out, "DIR", "output directory (default out/<request_id>; with several records, DIR/<request_id>)")
	o.addAgainstFlag(f)
	addFormatFlag(cmd, &o.Output, outputText)
	root.AddCommand(cmd)
}

// addRequestFlags adds the runner flags and those of the replay request,
// in replay's words (attribute rewords some).
func (o *replayOptions) addRequestFlags(cmd *cobra.Command) {
	o.Request.Given = cmd.Flags().Changed
	o.runnerOptions.addFlags(cmd)
	o.runnerOptions.addInFlightFlags(cmd.Flags())
	f := cmd.Flags()
	f.IntVarP(&o.N, "n", "n", 100, "number of runs with fresh seeds (a fixed-N replay; implies --sequential=false unless given)")
	f.BoolVar(&o.Sequential, "sequential", true, "run in batches and stop as soon as the verdict is settled")
	f.IntVar(&o.MaxRuns, "max-runs", verdict.DefaultMaxRuns, "most fresh-seed runs of a sequential replay")
	f.IntVar(&o.Batch, "batch", verdict.DefaultBatch, "runs between two looks of a sequential replay")
	f.Uint64Var(&o.ReplaySeed, "replay-seed", 0, "seed of the fresh seeds (default: derived from the request id)")
	dr := verdict.DefaultRules()
	f.Float64Var(&o.MinFrequency, "min-frequency", dr.MinFrequency, "minimum frequency of the stored label among replays for REPRODUCED")
	f.Float64Var(&o.Alpha, "alpha", dr.Alpha, "false-alarm rate: the most probability that an honest record is called DIVERGED, all checks together")
	f.Float64Var(&o.Conf, "conf", dr.Conf, "confidence level of the frequency intervals")
	f.Float64Var(&o.Margin, "margin", dr.Margin, "equivalence margin against reference outputs and, with --against, between the two systems (total variation for labels, Kolmogorov distance for scores, MMD² with the 3-gram spectrum kernel for texts)")
	f.BoolVar(&o.AllowHardwareMismatch, "allow-hardware-mismatch", false, "replay even if this host's hardware class differs from the record's (stated in the report)")
}

func (o *replayOptions) validate() error {
	if err := o.runnerOptions.Validate(); err != nil {
		return err
	}
	if err := o.Request.Validate(); err != nil {
		return &usageError{err}
	}
	if !(o.EvalMargin > 0 && o.EvalMargin < 1) {
		return usageErrorf("--eval-margin must be in (0, 1), got %g", o.EvalMargin)
	}
	if _, err := evals.ParseCheckMode(o.Evals); err != nil {
		return usageErrorf("--evals must be auto, on or off, got %q", o.Evals)
	}
	return nil
}

// severity orders exit codes for a batch: the worst one wins.
func severity(code int) int {
	return map[int]int{exitOK: 0, exitInconclusive: 1, exitDiverged: 2, exitEnvironment: 3, exitUsage: 4, exitIntegrity: 5, exitInterrupted: 6}[code]
}

// replayLine is one record's line of the JSON summary.
type replayLine struct {
	replay.Outcome
	Error    string `json:"error,omitempty"`
	ExitCode int    `json:"exit_code"`
}

func runReplay(ctx context.Context, g *globalOptions, s *streams, o *replayOptions, paths []string) error {
	if o.Against != "" {
		return runAgainst(ctx, g, s, o, paths)
	}
	if err := o.validate(); err != nil {
		return err
	}
	log := g.logger(s)
	lo, st, err := o.open(ctx, g, log)
	if err != nil {
		return replay.MissingFirst(err, paths)
	}
	bar := replay.NewRunBar(s.Err, time.Now, o.IsSequential())
	ro := o.Request.Options(lo)
	ro.Warn = func(w string) { fmt.Fprintf(s.Err, "reprise: warning: %s\n", clean(w)) }
	ro.System = evals.Checker{Options: evals.CheckOptions{Mode: evals.CheckMode(o.Evals), Store: st, Margin: o.EvalMargin, Logger: log}}
	bo := replay.BatchOptions{Options: ro, Out: o.Out, Single: len(paths) == 1, NewRunner: o.runners(log)}
	if s.ErrTTY { // progress on stderr only when it is a terminal
		bo.Progress = bar.Record
	}
	worst := exitOK
	lines := []replayLine{}
	replay.Batch(ctx, st, replay.Files(paths), bo, func(out replay.Outcome) bool {
		bar.End()
		code := verdictCode(out.Verdict)
		line := replayLine{Outcome: out}
		if out.Err != nil {
			code = exitCode(out.Err)
			line.Error = out.Err.Error()
			fmt.Fprintf(s.Err, "reprise: %s: %s\n", clean(out.Source), clean(out.Err.Error()))
		}
		for _, n := range out.Notes {
			fmt.Fprintf(s.Err, "reprise: %s: note: %s\n", clean(out.Source), clean(n))
		}
		line.ExitCode = code
		lines = append(lines, line)
		if severity(code) > severity(worst) {
			worst = code
		}
		if o.Output == outputText {
			fmt.Fprintln(s.Out, clean(out.Text()))
		}
		return code != exitInterrupted
	})
	if o.Output == outputJSON {
		if err := writeJSON(s.Out, struct {
			ExitCode int          `json:"exit_code"`
			Records  []replayLine `json:"records"`
		}{worst, lines}); err != nil {
			return err
		}
	}
	if worst != exitOK {
		return &silentError{worst}
	}
	return nil
}

// clean strips escape sequences and control characters from text bound for
// the terminal (record fields, a system's stderr in errors).
func clean(s string) string { return render.Terminal(s, false) }
