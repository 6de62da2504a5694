package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/fsread"
	"github.com/reprise-dev/reprise/journal"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/hwclass"
	"github.com/reprise-dev/reprise/runners/wire"
)

func newRecordCmd(g *globalOptions, s *streams) *cobra.Command {
	return newGroup("record", "Create and import decision records", "", newRecordCreateCmd(g, s), newRecordImportCmd(g, s))
}

// recordCreateOptions are the flags of `record create`.
type recordCreateOptions struct {
	Input, InputMediaType string
	systemPartFlags
	Components        []string
	Label, Text       string
	Score             float64
	OutputFile        string
	RequestID         string
	Timestamp         string
	Seed              int64
	Temperature, TopP float64
	MaxTokens         int
	HardwareClass     string
	Protocol          string
	HTTP              record.HTTP
	LabelFrom         record.LabelFrom
	OutputMap         record.OutputMap
	EvalSuite         string
	Out               string

	Capture       bool
	ReferenceRuns int
	SeedBits      int
	runnerOptions

	// set reports which optional flags were given.
	set func(name string) bool
	// now is the injected clock.
	now func() time.Time
}

func newRecordCreateCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &recordCreateOptions{now: time.Now}
	cmd := newCommand("create --input FILE --image REF --model PATH --config PATH [--component NAME=PATH]... [--label L] [--score S] [--text T]",
		"Build a decision record from its parts; puts the blobs into the store",
		help("record-create"), cobra.NoArgs,
		func(ctx context.Context, _ []string) error { return runRecordCreate(ctx, g, s, o) })
	o.set = cmd.Flags().Changed
	f := cmd.Flags()
	f.StringVar(&o.Input, "input", "", "file with the exact request bytes (required)")
	f.StringVar(&o.InputMediaType, "input-media-type", "", "media type of the input (default: from the extension)")
	o.systemPartFlags.addFlags(f)
	f.StringArrayVar(&o.Components, "component", nil, "other behavior-affecting component given to the system, NAME=PATH (a file or a directory) or NAME=sha256:… (repeatable)")
	f.StringVar(&o.Label, "label", "", "stored output label")
	f.Float64Var(&o.Score, "score", 0, "stored output score")
	f.StringVar(&o.Text, "text", "", "stored output text")
	f.StringVar(&o.OutputFile, "output-file", "", "file with the raw response bytes (stored; its digest becomes output.digest)")
	f.StringVar(&o.RequestID, "request-id", "", "request id (default: derived from the input digest and timestamp)")
	f.StringVar(&o.Timestamp, "timestamp", "", "decision time, RFC 3339 (default: now)")
	f.Int64Var(&o.Seed, "seed", 0, "seed used at decision time")
	f.IntVar(&o.SeedBits, "seed-bits", 64, "how many low bits of a seed the system uses (32 for a server that cuts seeds to 32 bits, e.g. Ollama: seed and seed+2^32 are then the same run; stored as runtime.seed_bits)")
	f.Float64Var(&o.Temperature, "temperature", 0, "temperature used at decision time")
	f.Float64Var(&o.TopP, "top-p", 0, "top_p used at decision time")
	f.IntVar(&o.MaxTokens, "max-tokens", 0, "max_tokens used at decision time")
	f.StringVar(&o.HardwareClass, "hardware-class", "", "hardware class (default: this host's, see 'reprise env')")
	f.StringVar(&o.Protocol, "protocol", "jsonl-stdio", "wire protocol: jsonl-stdio, openai or kserve-v2")
	f.IntVar(&o.HTTP.Port, "http-port", 0, "port the HTTP server listens on in its container (default: openai 8000, kserve-v2 8080)")
	f.StringVar(&o.HTTP.ModelName, "http-model-name", "", "model name of the HTTP protocol (kserve-v2: /v2/models/NAME/infer; default \"model\")")
	f.StringVar(&o.HTTP.Path, "http-path", "", "inference path override of the HTTP protocol")
	f.BoolVar(&o.HTTP.Logprobs, "http-logprobs", false, "openai: ask for token logprobs on every run (kept per run in runs.parquet)")
	f.IntVar(&o.HTTP.TopLogprobs, "http-top-logprobs", 0, fmt.Sprintf("openai: alternatives per token with --http-logprobs (0 to %d)", record.MaxTopLogprobs))
	f.StringVar(&o.LabelFrom.JSONPointer, "label-json-pointer", "", "derive the label from generated text: a JSON pointer into the text parsed as JSON")
	f.StringVar(&o.LabelFrom.Regex, "label-regex", "", "derive the label from generated text: the first group of a regular expression")
	f.StringVar(&o.OutputMap.Label, "output-label", "", "kserve-v2: the output tensor holding the label (default \"label\")")
	f.StringVar(&o.OutputMap.Score, "output-score", "", "kserve-v2: the output tensor holding the score (default \"score\")")
	f.StringVar(&o.EvalSuite, "eval-suite", "", "pinned eval suite: sha256:… or a FILE to store")
	addDestFlag(cmd, &o.Out, "FILE", "write the record to FILE instead of stdout")
	f.BoolVar(&o.Capture, "capture", false, "run the pinned system once on the input and record its output (instead of --label/--score/--text)")
	f.IntVar(&o.ReferenceRuns, "reference-runs", 0, "with --capture, also keep K outputs drawn with fresh seeds as reference outputs the replay compares with")
	o.runnerOptions.addFlags(cmd)
	// Without --capture nothing runs here: --env and the limits say what
	// the system ran with at decision time and go into the record.
	for name, usage := range map[string]string{
		"env":    "extra environment, KEY=VALUE (repeatable): the capture's with --capture, else the decision's (stored as runtime.env_vars)",
		"memory": "memory limit (e.g. 512m, 2g): the capture's sandbox with --capture, else, when given, the decision's (stored in runtime.limits)",
		"cpus":   "CPU limit: the capture's sandbox with --capture, else, when given, the decision's (stored in runtime.limits)",
		"pids":   "process limit (threads count): the capture's sandbox with --capture, else, when given, the decision's (stored in runtime.limits)",
	} {
		f.Lookup(name).Usage = usage
	}
	return cmd
}

// parts turns the flags into capture.Parts.
func (o *recordCreateOptions) parts(ctx context.Context, stdin io.Reader) (capture.Parts, error) {
	p, err := o.systemPartFlags.parts(o.Protocol, required{"--input", o.Input})
	if err != nil {
		return p, err
	}
	p.Input = capture.Source{Path: o.Input, MediaType: o.InputMediaType}
	p.HardwareClass, p.RequestID = o.HardwareClass, o.RequestID
	p.Timestamp, p.Stdin = o.now().UTC().Truncate(time.Second), stdin
	if h := o.HTTP; h != (record.HTTP{}) || o.LabelFrom != (record.LabelFrom{}) || o.OutputMap != (record.OutputMap{}) {
		if !wire.IsHTTP(o.Protocol) {
			return p, usageErrorf("--http-*, --label-* and --output-* are for the HTTP protocols (--protocol openai or kserve-v2)")
		}
		if o.LabelFrom != (record.LabelFrom{}) {
			lf := o.LabelFrom
			h.LabelFrom = &lf
		}
		if o.OutputMap != (record.OutputMap{}) {
			om := o.OutputMap
			h.OutputMap = &om
		}
		p.HTTP = &h
	}
	if o.Timestamp != "" {
		ts, err := time.Parse(time.RFC3339Nano, o.Timestamp)
		if err != nil {
			return p, usageErrorf("--timestamp: not an RFC 3339 time: %q", o.Timestamp)
		}
		p.Timestamp = ts
	}
	for _, c := range o.Components {
		name, val, ok := strings.Cut(c, "=")
		if !ok || name == "" || val == "" {
			return p, usageErrorf("--component %q: want NAME=PATH or NAME=sha256:…", c)
		}
		if p.Components == nil {
			p.Components = map[string]capture.ComponentRef{}
		}
		ref, err := componentRef(val)
		if err != nil {
			return p, usageErrorf("--component %s: %v", name, err)
		}
		p.Components[name] = ref
	}
	if o.EvalSuite != "" {
		if p.EvalSuite, err = componentRef(o.EvalSuite); err != nil {
			return p, usageErrorf("--eval-suite: %v", err)
		}
	}
	if o.set("seed") {
		p.Params.Seed = &o.Seed
	}
	if o.set("temperature") {
		p.Params.Temperature = &o.Temperature
	}
	if o.set("top-p") {
		p.Params.TopP = &o.TopP
	}
	if o.set("max-tokens") {
		p.Params.MaxTokens = &o.MaxTokens
	}
	if p.HardwareClass == "" {
		p.HardwareClass = hwclass.Detect(ctx)
	} else if _, err := hwclass.Parse(p.HardwareClass); err != nil {
		return p, usageErrorf("--hardware-class (runtime.hardware_class): %v", err)
	}
	snap := hwclass.Host(ctx)
	p.EnvOS = snap.OS + " " + snap.Kernel
	return p, nil
}

// componentRef is a digest ("sha256:…") or a file to store.
func componentRef(val string) (capture.ComponentRef, error) {
	if strings.HasPrefix(val, "sha256:") {
		d, err := digest.Parse(val)
		return capture.ComponentRef{Digest: d}, err
	}
	return capture.ComponentRef{File: val}, nil
}

// manualOutput is the output typed in with --label/--score/--text.
func (o *recordCreateOptions) manualOutput() (output.Output, error) {
	var out output.Output
	if o.set("label") {
		out.Label = &o.Label
	}
	if o.set("score") {
		out.Score = &o.Score
	}
	if o.set("text") {
		out.Text = &o.Text
	}
	if out.IsZero() {
		return out, usageErrorf("the stored output is required: give --label, --score and/or --text (or --capture)")
	}
	if err := out.Validate(); err != nil {
		return out, usageErrorf("--label/--score/--text: %v", err)
	}
	return out, nil
}

// canonicalResponse reads the raw response of --output-file (at most
// runners.DefaultMaxResponseBytes, one trailing newline dropped) and
// returns its canonical bytes as the protocol's codec defines them
// (runners.Codec.Canonical: no ids, times or fingerprints), the bytes
// record create --capture stores and a replay's exact match compares, so
// one output has one digest however its record was made.
func (o *recordCreateOptions) canonicalResponse(r io.Reader) (io.Reader, error) {
	codec, err := wire.Lookup(o.Protocol, runners.HTTPConfig{})
	if err != nil {
		return nil, usageErrorf("--protocol: %v", err)
	}
	b, err := io.ReadAll(io.LimitReader(r, runners.DefaultMaxResponseBytes+1))
	switch {
	case err != nil:
		return nil, usageErrorf("--output-file: %v", err)
	case len(b) > runners.DefaultMaxResponseBytes:
		return nil, usageErrorf("--output-file: longer than %d bytes (one response)", runners.DefaultMaxResponseBytes)
	}
	b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
	return bytes.NewReader(codec.Canonical(b)), nil
}

// checkCounts checks --seed-bits and --reference-runs (usage errors).
func (o *recordCreateOptions) checkCounts() error {
	if o.SeedBits < 1 || o.SeedBits > record.MaxSeedBits {
		return usageErrorf("--seed-bits must be between 1 and %d, got %d", record.MaxSeedBits, o.SeedBits)
	}
	if o.ReferenceRuns < 0 || o.ReferenceRuns > 100_000 || (o.ReferenceRuns > 0 && !o.Capture) {
		return usageErrorf("--reference-runs needs --capture and must be between 0 and 100000, got %d", o.ReferenceRuns)
	}
	return nil
}

func runRecordCreate(ctx context.Context, g *globalOptions, s *streams, o *recordCreateOptions) error {
	parts, err := o.parts(ctx, s.In)
	if err != nil {
		return err
	}
	var out output.Output
	var lo launch.Options
	var declEnv map[string]string
	var declLimits *record.Limits
	if err := o.checkCounts(); err != nil {
		return err
	}
	if o.Capture {
		if o.set("label") || o.set("score") || o.set("text") || o.OutputFile != "" {
			return usageErrorf("--capture records the system's own output: drop --label, --score, --text and --output-file")
		}
		if err := o.runnerOptions.validate(); err != nil {
			return err
		}
		if lo, err = o.runnerOptions.launchOptions(ctx); err != nil {
			return err
		}
		if err := checkEnvNames(lo.Env); err != nil {
			return err
		}
		if parts.HardwareClass != lo.HostClass {
			return usageErrorf("--capture runs on this host (%s); --hardware-class %s would misstate where the decision was made", lo.HostClass, parts.HardwareClass)
		}
	} else {
		if out, err = o.manualOutput(); err != nil {
			return err
		}
		if declEnv, declLimits, err = o.declaredRuntime(); err != nil {
			return err
		}
	}
	// Open the raw response before anything is stored: a missing
	// --output-file must leave no blobs behind.
	var raw io.Reader
	if !o.Capture && o.OutputFile != "" {
		f, _, err := fsread.Open(o.OutputFile)
		if err != nil {
			return usageErrorf("--output-file: %v", err)
		}
		defer f.Close()
		if raw, err = o.canonicalResponse(f); err != nil {
			return err
		}
	}
	st, err := initStore(g)
	if err != nil {
		return err
	}
	rec, err := capture.Build(ctx, st, parts)
	if err != nil {
		return err
	}
	if o.Capture {
		// What the system ran with goes into the record, so a replay need
		// not guess it.
		if len(lo.Env) > 0 {
			rec.Runtime.EnvVars = lo.Env
		}
		rec.Runtime.Limits = &record.Limits{MemoryBytes: lo.Limits.MemoryBytes, NanoCPUs: lo.Limits.NanoCPUs, Pids: lo.Limits.Pids}
		log := g.logger(s)
		lo.Logger = log
		pool := launch.NewPool(st, launch.PoolOptions{NewRunner: func(ctx context.Context) (launch.Runner, error) { return newRunner(ctx, &o.runnerOptions, log) }})
		defer pool.Close(ctx)
		sess, err := pool.Acquire(ctx, launch.FromRecord(rec), lo)
		if err != nil {
			return fmt.Errorf("capture: %w", err)
		}
		defer pool.Release(ctx, sess, false)
		if _, err := capture.Capture(ctx, st, rec, sess, capture.Options{ReferenceRuns: o.ReferenceRuns, SeedBits: o.SeedBits}); err != nil {
			return fmt.Errorf("capture: %w", err)
		}
	} else {
		rec.Runtime.EnvVars, rec.Runtime.Limits = declEnv, declLimits
		rec.Runtime.SeedBits = o.SeedBits % record.MaxSeedBits // 64 (all bits) is left out
		if err := capture.ManualOutput(ctx, st, rec, out, raw, filepath.Base(o.OutputFile)); err != nil {
			return err
		}
	}
	return writeRecord(s, o.Out, rec)
}

// writeRecord validates rec by round-tripping it through the strict decoder
// and writes it to path (atomically) or stdout.
func writeRecord(s *streams, path string, rec *record.Record) error {
	b, err := record.Marshal(rec)
	if err != nil {
		return err
	}
	if _, err := record.Parse(b); err != nil {
		return fmt.Errorf("created record is invalid: %w", err)
	}
	if path == "" {
		_, err = s.Out.Write(b)
		return err
	}
	if err := journal.WriteAtomic(path, b); err != nil {
		return usageErrorf("-o: %v", err)
	}
	return nil
}
