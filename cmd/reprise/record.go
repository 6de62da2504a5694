package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/runners/hwclass"
)

func newRecordCmd(g *globalOptions, s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "record",
		Short: "Create decision records",
	}
	cmd.AddCommand(newRecordCreateCmd(g, s))
	return cmd
}

// recordCreateOptions are the flags of `record create`.
type recordCreateOptions struct {
	Input, InputMediaType         string
	Image                         string
	Model, ModelName, ModelVer    string
	Config, ConfigName, ConfigVer string
	Components                    []string
	Label, Text                   string
	Score                         float64
	OutputFile                    string
	RequestID                     string
	Timestamp                     string
	Seed                          int64
	Temperature, TopP             float64
	MaxTokens                     int
	HardwareClass                 string
	Protocol                      string
	EvalSuite                     string
	Out                           string

	capture captureOptions

	// set reports which optional flags were given.
	set func(name string) bool
	// now is the injected clock.
	now func() time.Time
}

func newRecordCreateCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &recordCreateOptions{now: time.Now}
	cmd := &cobra.Command{
		Use:   "create --input FILE --image REF --model FILE --config FILE [--label L] [--score S] [--text T]",
		Short: "Build a decision record from its parts; puts the blobs into the store",
		Long: `Build a decision record from its parts so nobody hashes by hand: the input,
model and config files are put into the store, every digest and the composite
system id are computed, and the record JSON is written to stdout (or -o FILE).

The image must be pinned: name@sha256:… or a local image id sha256:…; a tag
alone is refused (exit 4). The stored output is given with --label, --score
and/or --text; its digest is the sha256 of --output-file (the raw response
bytes, also stored) or, without it, of the canonical JSON {"label":…,"score":…,"text":…}
with unset fields omitted.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			o.set = func(name string) bool { return c.Flags().Changed(name) }
			return runRecordCreate(c.Context(), g, s, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Input, "input", "", "file with the exact request bytes (required)")
	f.StringVar(&o.InputMediaType, "input-media-type", "", "media type of the input (default: from the extension)")
	f.StringVar(&o.Image, "image", "", "pinned inference image: name@sha256:… or sha256:<image id> (required)")
	f.StringVar(&o.Model, "model", "", "model file (required)")
	f.StringVar(&o.ModelName, "model-name", "", "model name (default: safetensors metadata, else the file name)")
	f.StringVar(&o.ModelVer, "model-version", "", "model version (default: safetensors metadata, else \"unversioned\")")
	f.StringVar(&o.Config, "config", "", "config file (required)")
	f.StringVar(&o.ConfigName, "config-name", "", "config name (default: its JSON \"name\", else the file name)")
	f.StringVar(&o.ConfigVer, "config-version", "", "config version (default: its JSON \"version\", else \"unversioned\")")
	f.StringArrayVar(&o.Components, "component", nil, "other behavior-affecting component, NAME=FILE or NAME=sha256:… (repeatable)")
	f.StringVar(&o.Label, "label", "", "stored output label")
	f.Float64Var(&o.Score, "score", 0, "stored output score")
	f.StringVar(&o.Text, "text", "", "stored output text")
	f.StringVar(&o.OutputFile, "output-file", "", "file with the raw response bytes (stored; its digest becomes output.digest)")
	f.StringVar(&o.RequestID, "request-id", "", "request id (default: derived from the input digest and timestamp)")
	f.StringVar(&o.Timestamp, "timestamp", "", "decision time, RFC 3339 (default: now)")
	f.Int64Var(&o.Seed, "seed", 0, "seed used at decision time")
	f.Float64Var(&o.Temperature, "temperature", 0, "temperature used at decision time")
	f.Float64Var(&o.TopP, "top-p", 0, "top_p used at decision time")
	f.IntVar(&o.MaxTokens, "max-tokens", 0, "max_tokens used at decision time")
	f.StringVar(&o.HardwareClass, "hardware-class", "", "hardware class (default: this host's, see 'reprise env')")
	f.StringVar(&o.Protocol, "protocol", "jsonl-stdio", "wire protocol: jsonl-stdio, openai or kserve-v2")
	f.StringVar(&o.EvalSuite, "eval-suite", "", "pinned eval suite: sha256:… or a FILE to store")
	f.StringVarP(&o.Out, "output", "o", "", "write the record to FILE instead of stdout")
	addCaptureFlags(cmd, o)
	return cmd
}

// buildRecord stores the parts and assembles the record (without the output,
// which the caller fills).
func buildRecord(ctx context.Context, st *store.Store, s *streams, o *recordCreateOptions) (*record.Record, error) {
	for _, req := range []struct{ name, val string }{{"--input", o.Input}, {"--image", o.Image}, {"--model", o.Model}, {"--config", o.Config}} {
		if req.val == "" {
			return nil, usageErrorf("%s is required", req.name)
		}
	}
	img, err := record.ParseImageRef(o.Image)
	if err != nil {
		return nil, fmt.Errorf("--image: %w", err)
	}
	if !validProtocol(o.Protocol) {
		return nil, usageErrorf("--protocol: unknown protocol %q (want one of %s)", o.Protocol, strings.Join(record.Protocols, ", "))
	}
	rec := &record.Record{Schema: record.Schema}
	rec.Timestamp = o.now().UTC().Truncate(time.Second)
	if o.Timestamp != "" {
		ts, err := time.Parse(time.RFC3339Nano, o.Timestamp)
		if err != nil {
			return nil, usageErrorf("--timestamp: not an RFC 3339 time: %q", o.Timestamp)
		}
		rec.Timestamp = ts
	}

	inMT := o.InputMediaType
	if inMT == "" {
		inMT = guessMediaType(o.Input)
	}
	if rec.Input.Digest, err = putFile(ctx, st, s.In, o.Input, inMT, ""); err != nil {
		return nil, err
	}
	rec.Input.MediaType = inMT

	modelBytes, err := os.ReadFile(o.Model)
	if err != nil {
		return nil, usageErrorf("--model: %v", err)
	}
	mName, mVer := safetensorsMeta(modelBytes)
	rec.System.Model = record.Artifact{Name: first(o.ModelName, mName, trimExt(o.Model)), Version: first(o.ModelVer, mVer, "unversioned")}
	if rec.System.Model.Digest, err = putFile(ctx, st, s.In, o.Model, "", ""); err != nil {
		return nil, err
	}
	cfgBytes, err := os.ReadFile(o.Config)
	if err != nil {
		return nil, usageErrorf("--config: %v", err)
	}
	cName, cVer := jsonNameVersion(cfgBytes)
	rec.System.Config = record.Artifact{Name: first(o.ConfigName, cName, trimExt(o.Config)), Version: first(o.ConfigVer, cVer, "unversioned")}
	if rec.System.Config.Digest, err = putFile(ctx, st, s.In, o.Config, "", ""); err != nil {
		return nil, err
	}
	for _, c := range o.Components {
		name, val, ok := strings.Cut(c, "=")
		if !ok || name == "" || val == "" {
			return nil, usageErrorf("--component %q: want NAME=FILE or NAME=sha256:…", c)
		}
		if rec.System.Components == nil {
			rec.System.Components = map[string]digest.Digest{}
		}
		if strings.HasPrefix(val, "sha256:") {
			d, err := digest.Parse(val)
			if err != nil {
				return nil, usageErrorf("--component %s: %v", name, err)
			}
			rec.System.Components[name] = d
		} else if rec.System.Components[name], err = putFile(ctx, st, s.In, val, "", ""); err != nil {
			return nil, err
		}
	}
	rec.System.Image = img.String()
	rec.System.ID, _ = rec.ComputeSystemID()

	if o.set("seed") {
		rec.Params.Seed = &o.Seed
	}
	if o.set("temperature") {
		rec.Params.Temperature = &o.Temperature
	}
	if o.set("top-p") {
		rec.Params.TopP = &o.TopP
	}
	if o.set("max-tokens") {
		rec.Params.MaxTokens = &o.MaxTokens
	}
	rec.Runtime.Protocol = o.Protocol
	rec.Runtime.HardwareClass = o.HardwareClass
	if rec.Runtime.HardwareClass == "" {
		rec.Runtime.HardwareClass = hwclass.Detect(ctx)
	}
	snap := hwclass.Host(ctx)
	rec.Runtime.Env = &record.Env{OS: snap.OS + " " + snap.Kernel}
	if o.EvalSuite != "" {
		if strings.HasPrefix(o.EvalSuite, "sha256:") {
			if rec.EvalSuite, err = digest.Parse(o.EvalSuite); err != nil {
				return nil, usageErrorf("--eval-suite: %v", err)
			}
		} else if rec.EvalSuite, err = putFile(ctx, st, s.In, o.EvalSuite, "", ""); err != nil {
			return nil, err
		}
	}
	rec.RequestID = o.RequestID
	if rec.RequestID == "" {
		rec.RequestID = "req_" + digest.FromBytes([]byte(rec.Input.Digest.String() + rec.Timestamp.Format(time.RFC3339Nano))).Hex()[:16]
	}
	return rec, nil
}

func runRecordCreate(ctx context.Context, g *globalOptions, s *streams, o *recordCreateOptions) error {
	st, err := openStore(g)
	if err != nil {
		return err
	}
	rec, err := buildRecord(ctx, st, s, o)
	if err != nil {
		return err
	}
	if o.captureEnabled() {
		if err := capture(ctx, g, s, o, st, rec); err != nil {
			return err
		}
	} else {
		if err := manualOutput(ctx, st, s, o, rec); err != nil {
			return err
		}
	}
	return writeRecord(s, o.Out, rec)
}

// manualOutput fills rec.Output from --label/--score/--text/--output-file.
func manualOutput(ctx context.Context, st *store.Store, s *streams, o *recordCreateOptions, rec *record.Record) error {
	if o.set("label") {
		if o.Label == "" {
			return usageErrorf("--label must not be empty")
		}
		rec.Output.Label = &o.Label
	}
	if o.set("score") {
		rec.Output.Score = &o.Score
	}
	if o.set("text") {
		rec.Output.Text = &o.Text
	}
	if rec.Output.Label == nil && rec.Output.Score == nil && rec.Output.Text == nil {
		return usageErrorf("the stored output is required: give --label, --score and/or --text (or --capture)")
	}
	if o.OutputFile != "" {
		d, err := putFile(ctx, st, s.In, o.OutputFile, "", "")
		if err != nil {
			return err
		}
		rec.Output.Digest = d
		return nil
	}
	rec.Output.Digest = digest.FromBytes(record.CanonicalOutput(rec.Output.Label, rec.Output.Score, rec.Output.Text))
	return nil
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
	if err := store.WriteAtomic(path, b); err != nil {
		return usageErrorf("-o: %v", err)
	}
	return nil
}

func validProtocol(p string) bool {
	for _, q := range record.Protocols {
		if p == q {
			return true
		}
	}
	return false
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func trimExt(path string) string {
	b := filepath.Base(path)
	return strings.TrimSuffix(b, filepath.Ext(b))
}

// safetensorsMeta returns __metadata__.name and .version of a safetensors
// file, or "" when the bytes are not safetensors.
func safetensorsMeta(b []byte) (name, version string) {
	if len(b) < 8 {
		return "", ""
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n == 0 || n > uint64(len(b)-8) || n > 100<<20 {
		return "", ""
	}
	var hdr struct {
		Meta map[string]string `json:"__metadata__"`
	}
	if json.Unmarshal(bytes.TrimRight(b[8:8+n], " "), &hdr) != nil {
		return "", ""
	}
	return hdr.Meta["name"], hdr.Meta["version"]
}

// jsonNameVersion returns the top-level "name" and "version" strings of a JSON config.
func jsonNameVersion(b []byte) (name, version string) {
	var v struct {
		Name    any `json:"name"`
		Version any `json:"version"`
	}
	if json.Unmarshal(b, &v) != nil {
		return "", ""
	}
	str := func(x any) string {
		switch t := x.(type) {
		case string:
			return t
		case float64:
			return fmt.Sprint(t)
		}
		return ""
	}
	return str(v.Name), str(v.Version)
}
