package capture

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/system"
)

// partError is an ErrPart whose message is the caller's, naming the flag
// at fault (record create, system create).
type partError struct{ msg string }

func (e *partError) Error() string        { return e.msg }
func (e *partError) Is(target error) bool { return target == ErrPart }

func partErrorf(format string, a ...any) error { return &partError{fmt.Sprintf(format, a...)} }

// SystemParts name the parts of a composite version as the flags of
// record create and system create give them: the pinned image, the model
// and config paths, and what to call them.
type SystemParts struct {
	Image, Model, Config                       string
	ModelName, ModelVer, ConfigName, ConfigVer string
}

// Required is a flag that must be given: its name and value.
type Required struct{ Name, Val string }

// Parts checks that the flags in first, then --image, --model and
// --config, are given, parses --image and checks protocol (one of
// record.Protocols): the parts of a composite version. A missing flag or
// an unknown protocol matches ErrPart; an image pinned by tag alone is
// system.ParseImageRef's error.
func (o SystemParts) Parts(protocol string, first ...Required) (Parts, error) {
	for _, r := range append(first, Required{"--image", o.Image}, Required{"--model", o.Model}, Required{"--config", o.Config}) {
		if r.Val == "" {
			return Parts{}, partErrorf("%s is required", r.Name)
		}
	}
	img, err := system.ParseImageRef(o.Image)
	if err != nil {
		return Parts{}, fmt.Errorf("--image: %w", err)
	}
	if !slices.Contains(record.Protocols, protocol) {
		return Parts{}, partErrorf("--protocol: unknown protocol %q (want one of %s)", protocol, strings.Join(record.Protocols, ", "))
	}
	return Parts{Image: img, Model: Source{Path: o.Model}, Config: Source{Path: o.Config},
		ModelName: o.ModelName, ModelVersion: o.ModelVer, ConfigName: o.ConfigName, ConfigVersion: o.ConfigVer, Protocol: protocol}, nil
}

// Request is what record create is given, as its flags give it; Parts
// checks and parses it. Its errors match ErrPart (but an image pinned by
// tag alone) and name the flag at fault.
type Request struct {
	SystemParts
	Input, InputMediaType string
	Protocol              string
	// HTTP, LabelFrom and OutputMap are the HTTP protocols' settings
	// (zero: none); IsHTTP says whether Protocol is one.
	HTTP      record.HTTP
	LabelFrom record.LabelFrom
	OutputMap record.OutputMap
	IsHTTP    bool
	// Components are NAME=PATH or NAME=sha256:…; EvalSuite a digest or a file.
	Components []string
	EvalSuite  string
	// RequestID and Timestamp (RFC 3339, "" for Now) are the decision's.
	RequestID, Timestamp string
	Now                  time.Time
	// Seed, Temperature, TopP and MaxTokens are the decision's params,
	// each kept when Given reports its flag given.
	Seed              int64
	Temperature, TopP float64
	MaxTokens         int
	Given             func(flag string) bool
}

// Parts turns the request into Parts (without the hardware class, Stdin
// and EnvOS).
func (o *Request) Parts() (Parts, error) {
	p, err := o.SystemParts.Parts(o.Protocol, Required{"--input", o.Input})
	if err != nil {
		return p, err
	}
	p.Input = Source{Path: o.Input, MediaType: o.InputMediaType}
	p.RequestID, p.Timestamp = o.RequestID, o.Now.UTC().Truncate(time.Second)
	if p.HTTP, err = o.http(); err != nil {
		return p, err
	}
	if o.Timestamp != "" {
		ts, err := time.Parse(time.RFC3339Nano, o.Timestamp)
		if err != nil {
			return p, partErrorf("--timestamp: not an RFC 3339 time: %q", o.Timestamp)
		}
		p.Timestamp = ts
	}
	if p.Components, err = components(o.Components); err != nil {
		return p, err
	}
	if o.EvalSuite != "" {
		if p.EvalSuite, err = componentRef(o.EvalSuite); err != nil {
			return p, partErrorf("--eval-suite: %v", err)
		}
	}
	p.Params = o.params()
	return p, nil
}

// http is the record's runtime.http: nil without HTTP settings.
func (o *Request) http() (*record.HTTP, error) {
	h := o.HTTP
	if h == (record.HTTP{}) && o.LabelFrom == (record.LabelFrom{}) && o.OutputMap == (record.OutputMap{}) {
		return nil, nil
	}
	if !o.IsHTTP {
		return nil, partErrorf("--http-*, --label-* and --output-* are for the HTTP protocols (--protocol openai or kserve-v2)")
	}
	if o.LabelFrom != (record.LabelFrom{}) {
		lf := o.LabelFrom
		h.LabelFrom = &lf
	}
	if o.OutputMap != (record.OutputMap{}) {
		om := o.OutputMap
		h.OutputMap = &om
	}
	return &h, nil
}

// params are the params whose flags were given.
func (o *Request) params() system.Params {
	var p system.Params
	if o.Given("seed") {
		p.Seed = &o.Seed
	}
	if o.Given("temperature") {
		p.Temperature = &o.Temperature
	}
	if o.Given("top-p") {
		p.TopP = &o.TopP
	}
	if o.Given("max-tokens") {
		p.MaxTokens = &o.MaxTokens
	}
	return p
}

// components parses the --component values, NAME=PATH or NAME=sha256:….
func components(vals []string) (map[string]ComponentRef, error) {
	var out map[string]ComponentRef
	for _, c := range vals {
		name, val, ok := strings.Cut(c, "=")
		if !ok || name == "" || val == "" {
			return nil, partErrorf("--component %q: want NAME=PATH or NAME=sha256:…", c)
		}
		if out == nil {
			out = map[string]ComponentRef{}
		}
		ref, err := componentRef(val)
		if err != nil {
			return nil, partErrorf("--component %s: %v", name, err)
		}
		out[name] = ref
	}
	return out, nil
}

// componentRef is a digest ("sha256:…") or a file to store.
func componentRef(val string) (ComponentRef, error) {
	if strings.HasPrefix(val, "sha256:") {
		d, err := digest.Parse(val)
		return ComponentRef{Digest: d}, err
	}
	return ComponentRef{File: val}, nil
}

// TypedOutput is the output typed in with --label, --score and --text,
// each kept when given reports its flag given. None given, or an invalid
// output, matches ErrPart.
func TypedOutput(label string, score float64, text string, given func(flag string) bool) (output.Output, error) {
	var out output.Output
	if given("label") {
		out.Label = &label
	}
	if given("score") {
		out.Score = &score
	}
	if given("text") {
		out.Text = &text
	}
	if out.IsZero() {
		return out, partErrorf("the stored output is required: give --label, --score and/or --text (or --capture)")
	}
	if err := out.Validate(); err != nil {
		return out, partErrorf("--label/--score/--text: %v", err)
	}
	return out, nil
}

// CanonicalResponse reads the raw response of --output-file (at most
// runners.DefaultMaxResponseBytes, one trailing newline dropped) and
// returns its canonical bytes as codec defines them (runners.Codec.Canonical:
// no ids, times or fingerprints), the bytes Capture stores and a replay's
// exact match compares, so one output has one digest however its record
// was made. Its errors match ErrPart.
func CanonicalResponse(r io.Reader, codec runners.Codec) (io.Reader, error) {
	b, err := io.ReadAll(io.LimitReader(r, runners.DefaultMaxResponseBytes+1))
	switch {
	case err != nil:
		return nil, partErrorf("--output-file: %v", err)
	case len(b) > runners.DefaultMaxResponseBytes:
		return nil, partErrorf("--output-file: longer than %d bytes (one response)", runners.DefaultMaxResponseBytes)
	}
	b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
	return bytes.NewReader(codec.Canonical(b)), nil
}

// CheckCounts checks --seed-bits (1 to record.MaxSeedBits) and
// --reference-runs (0 to 100000, and only with capture); its errors
// match ErrPart.
func CheckCounts(seedBits, referenceRuns int, capture bool) error {
	if seedBits < 1 || seedBits > record.MaxSeedBits {
		return partErrorf("--seed-bits must be between 1 and %d, got %d", record.MaxSeedBits, seedBits)
	}
	if referenceRuns < 0 || referenceRuns > 100_000 || (referenceRuns > 0 && !capture) {
		return partErrorf("--reference-runs needs --capture and must be between 0 and 100000, got %d", referenceRuns)
	}
	return nil
}
