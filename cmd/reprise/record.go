package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/fsread"
	"github.com/reprise-dev/reprise/journal"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/hwclass"
	"github.com/reprise-dev/reprise/runners/wire"
	"github.com/reprise-dev/reprise/runopts"
)

func newRecordCmd(g *globalOptions, s *streams) *cobra.Command {
	return newGroup("record", "Create and import decision records", "", newRecordCreateCmd(g, s), newRecordImportCmd(g, s))
}

// recordCreateOptions are the flags of `record create`: the request,
// the stored output, where the record goes and, with --capture, the runner.
type recordCreateOptions struct {
	capture.Request
	Label, Text   string
	Score         float64
	OutputFile    string
	HardwareClass string
	Out           string

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
	o.Request.Given = o.set
	f := cmd.Flags()
	f.StringVar(&o.Input, "input", "", "file with the exact request bytes (required)")
	f.StringVar(&o.InputMediaType, "input-media-type", "", "media type of the input (default: from the extension)")
	addSystemPartFlags(f, &o.SystemParts)
	f.StringArrayVar(&o.Components, "component", nil, "other behavior-affecting component given to the system, NAME=PATH (a file or a directory) or NAME=sha256:… (repeatable)")
	f.StringVar(&o.Label, "label", "", "stored output label")
	f.Float64Var(&o.Score, "score", 0, "stored output score")
	f.StringVar(&o.Text, "text", "", "stored output text")
	f.StringVar(&o.OutputFile, "output-file", "", "file with the raw response bytes (stored; its digest becomes output.digest)")
	f.StringVar(&o.RequestID, "request-id", "", "request id (default: derived from the input digest and timestamp)")
	f.StringVar(&o.Timestamp, "timestamp", "", "decision time, RFC 3339 (default: now)")
	f.Int64Var(&o.Seed, "seed", 0, "seed used at decision time")
	f.IntVar(&o.SeedBits, "seed-bits", 64, "how many low bits of a seed the system uses (32 for a server that cuts seeds to 32 bits, e.g. Ollama: seed and seed+2^32 are then the same run; stored as runtime.seed_bits)")
	f.StringVar(&o.HardwareClass, "hardware-class", "", "hardware class (default: this host's, see 'reprise env')")
	f.Float64Var(&o.Temperature, "temperature", 0, "temperature used at decision time")
	f.Float64Var(&o.TopP, "top-p", 0, "top_p used at decision time")
	f.IntVar(&o.MaxTokens, "max-tokens", 0, "max_tokens used at decision time")
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
	setUsage(f, map[string]string{
		"env":    "extra environment, KEY=VALUE (repeatable): the capture's with --capture, else the decision's (stored as runtime.env_vars)",
		"memory": "memory limit (e.g. 512m, 2g): the capture's sandbox with --capture, else, when given, the decision's (stored in runtime.limits)",
		"cpus":   "CPU limit: the capture's sandbox with --capture, else, when given, the decision's (stored in runtime.limits)",
		"pids":   "process limit (threads count): the capture's sandbox with --capture, else, when given, the decision's (stored in runtime.limits)",
	})
	return cmd
}

// parts turns the flags into capture.Parts.
func (o *recordCreateOptions) parts(ctx context.Context, stdin io.Reader) (capture.Parts, error) {
	o.Now, o.IsHTTP = o.now(), wire.IsHTTP(o.Protocol)
	p, err := o.Request.Parts()
	if err != nil {
		return p, err
	}
	if p.HardwareClass, err = hardwareClass(ctx, o.HardwareClass); err != nil {
		return p, err
	}
	snap := hwclass.Host(ctx)
	p.EnvOS, p.Stdin = snap.OS+" "+snap.Kernel, stdin
	return p, nil
}

// canonicalResponse reads the canonical bytes of --output-file
// (capture.CanonicalResponse); nil without --output-file. A missing file
// must leave no blobs behind: it is read before anything is stored.
func (o *recordCreateOptions) canonicalResponse() (io.Reader, error) {
	if o.OutputFile == "" {
		return nil, nil
	}
	codec, err := wire.Lookup(o.Protocol, runners.HTTPConfig{})
	if err != nil {
		return nil, usageErrorf("--protocol: %v", err)
	}
	f, _, err := fsread.Open(o.OutputFile)
	if err != nil {
		return nil, usageErrorf("--output-file: %v", err)
	}
	defer f.Close()
	return capture.CanonicalResponse(f, codec)
}

func runRecordCreate(ctx context.Context, g *globalOptions, s *streams, o *recordCreateOptions) error {
	parts, err := o.parts(ctx, s.In)
	if err != nil {
		return err
	}
	if err := capture.CheckCounts(o.SeedBits, o.ReferenceRuns, o.Capture); err != nil {
		return err
	}
	if o.Capture {
		return runCapture(ctx, g, s, o, parts)
	}
	out, err := capture.TypedOutput(o.Label, o.Score, o.Text, o.set)
	if err != nil {
		return err
	}
	env, limits, err := o.Declared()
	if err != nil {
		return err
	}
	raw, err := o.canonicalResponse()
	if err != nil {
		return err
	}
	st, err := initStore(g)
	if err != nil {
		return err
	}
	rec, err := capture.BuildTyped(ctx, st, parts, capture.Typed{Output: out, Raw: raw, RawName: filepath.Base(o.OutputFile), Env: env, Limits: limits, SeedBits: o.SeedBits})
	if err != nil {
		return err
	}
	return writeRecord(s, o.Out, rec)
}

// runCapture is record create --capture: the record of parts with the
// output of one run of its system on this host.
func runCapture(ctx context.Context, g *globalOptions, s *streams, o *recordCreateOptions, parts capture.Parts) error {
	if o.set("label") || o.set("score") || o.set("text") || o.OutputFile != "" {
		return usageErrorf("--capture records the system's own output: drop --label, --score, --text and --output-file")
	}
	if err := o.Validate(); err != nil {
		return err
	}
	lo, err := o.Launch(ctx)
	if err != nil {
		return err
	}
	if err := runopts.CheckEnvNames(lo.Env); err != nil {
		return err
	}
	if parts.HardwareClass != lo.HostClass {
		return usageErrorf("--capture runs on this host (%s); --hardware-class %s would misstate where the decision was made", lo.HostClass, parts.HardwareClass)
	}
	st, err := initStore(g)
	if err != nil {
		return err
	}
	rec, err := capture.BuildCaptured(ctx, st, parts, lo, capture.Options{ReferenceRuns: o.ReferenceRuns, SeedBits: o.SeedBits},
		func(target launch.Target, f func(*launch.Session) error) error {
			return o.WithSession(ctx, st, target, g.logger(s), f)
		})
	if err != nil {
		return err
	}
	return writeRecord(s, o.Out, rec)
}

// writeRecord validates rec by round-tripping it through the strict decoder
// and writes it to path (atomically) or stdout.
func writeRecord(s *streams, path string, rec *record.Record) error {
	b, err := record.MarshalChecked(rec)
	if err != nil {
		return err
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
