// Package record defines the decision record (schema "reprise/decision/v1"):
// the Go types, Validate (independent of any codec), and the JSON codec
// (strict decoding: unknown fields, missing fields, duplicate keys and bad
// values are problems that name the field), and the Parquet decision log
// codec (ParquetWriter, OpenParquetLog: one record per row, flat columns).
// CheckParquet (used by OpenParquetLog, OpenParquet and every Parquet
// reader of the module) refuses a Parquet file whose pages declare, or
// decompress to, more than ParquetLimits allow, before parquet-go
// allocates them. EncodeParquet is the module's one writer of report rows
// as Parquet (runs.parquet, results.parquet, eval results).
//
// The record's system is a system.System: its composite id is defined and
// computed there.
package record

import (
	"encoding/json"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/system"
)

// Schema is the only schema version this package reads and writes.
const Schema = "reprise/decision/v1"

// Record is one decision record: one production inference, pinned.
type Record struct {
	Schema    string        `json:"schema"`
	RequestID string        `json:"request_id"`
	Timestamp time.Time     `json:"timestamp"`
	Input     Input         `json:"input"`
	Params    system.Params `json:"params"`
	System    system.System `json:"system"`
	Runtime   Runtime       `json:"runtime"`
	Output    Output        `json:"output"`
	// EvalSuite pins the eval suite the system was scored with; zero when none.
	EvalSuite digest.Digest `json:"eval_suite,omitzero"`
	// Reference points at reference outputs drawn at decision time;
	// optional (nil when none).
	Reference *Reference `json:"reference,omitempty"`
	// RepriseVersion is the reprise that wrote the record (record create,
	// record import, capture: buildinfo.Version()); optional, "" for a
	// record a production system wrote itself.
	RepriseVersion string `json:"reprise_version,omitempty"`
}

// Input addresses the exact request bytes in the artifact store.
type Input struct {
	Digest    digest.Digest `json:"digest"`
	MediaType string        `json:"media_type"`
}

// Runtime says how the system was served.
type Runtime struct {
	Protocol      string `json:"protocol"`
	HardwareClass string `json:"hardware_class"`
	Env           *Env   `json:"env,omitempty"`
	// EnvVars is the extra environment the system ran with (record create
	// --capture --env); a replay uses it unless a flag overrides it.
	// Optional; the names reprise sets itself (ReservedEnv) are refused.
	EnvVars map[string]string `json:"env_vars,omitempty"`
	// Limits are the sandbox limits the system ran with; optional.
	Limits *Limits `json:"limits,omitempty"`
	// HTTP says how to reach an HTTP system (protocols openai and
	// kserve-v2); optional, every field has the protocol's default.
	HTTP *HTTP `json:"http,omitempty"`
	// SeedBits is how many low bits of a seed the system uses: 0 (or 64)
	// is all of them; a system that cuts seeds to 32 bits (Ollama, whose
	// llama.cpp sampler takes a uint32) has 32, and then seed and
	// seed + 2^32 are the same run. Set with record create --seed-bits;
	// optional.
	SeedBits int `json:"seed_bits,omitempty"`
	// Server is what the HTTP server said about itself when the decision
	// was captured (record create --capture); optional and informational:
	// not part of the system id.
	Server *Server `json:"server,omitempty"`
}

// MaxSeedBits is the largest runtime.seed_bits (a seed is an int64).
const MaxSeedBits = 64

// Server is what an HTTP server said about itself at capture. A replay
// reports it beside what the replayed server says; a difference is a
// note, never a verdict.
type Server struct {
	// Model is the model name the server's answer carried (openai: its
	// "model").
	Model string `json:"model,omitempty"`
	// SystemFingerprint is the answer's system_fingerprint: the server's
	// build, which need not identify the model (Ollama answers the
	// constant "fp_ollama" for every model).
	SystemFingerprint string `json:"system_fingerprint,omitempty"`
	// ModelDigest is the served model's digest as the server gave it
	// (Ollama's GET /api/tags, a "digest" of a GET /v1/models entry), the
	// server's own identity of the model; ModelDigestFrom names where it
	// came from. Empty when the server offers none.
	ModelDigest     string `json:"model_digest,omitempty"`
	ModelDigestFrom string `json:"model_digest_from,omitempty"`
}

// IsZero reports whether s says nothing.
func (s *Server) IsZero() bool { return s == nil || *s == Server{} }

// HTTP is what an HTTP protocol needs of the served system; a zero field
// takes the protocol's default.
type HTTP struct {
	// Port the server listens on in its container (openai 8000, kserve-v2 8080).
	Port int `json:"port,omitempty"`
	// ModelName is the kserve-v2 model of /v2/models/{name}/infer, or the
	// openai "model" sent when the stored request has none.
	ModelName string `json:"model_name,omitempty"`
	// Path overrides the inference path.
	Path string `json:"path,omitempty"`
	// LabelFrom derives output.label from generated text.
	LabelFrom *LabelFrom `json:"label_from,omitempty"`
	// OutputMap names the kserve-v2 output tensors of label and score.
	OutputMap *OutputMap `json:"output_map,omitempty"`
	// Logprobs asks an openai server for token logprobs on every run
	// (kept per run), with TopLogprobs alternatives per token (0 to
	// MaxTopLogprobs; it needs Logprobs).
	Logprobs    bool `json:"logprobs,omitempty"`
	TopLogprobs int  `json:"top_logprobs,omitempty"`
}

// MaxTopLogprobs is the largest runtime.http.top_logprobs (as the OpenAI API).
const MaxTopLogprobs = 20

// LabelFrom derives a label from generated text: a JSON pointer (RFC 6901)
// into the text parsed as JSON, or a regular expression whose first group
// (else its whole match) is the label. At most one is set.
type LabelFrom struct {
	JSONPointer string `json:"json_pointer,omitempty"`
	Regex       string `json:"regex,omitempty"`
}

// OutputMap names the output tensors that hold the label and the score.
type OutputMap struct {
	Label string `json:"label,omitempty"`
	Score string `json:"score,omitempty"`
}

// Limits are the sandbox limits of a session; a zero field is unknown.
// Their ranges are system's (system.MinMemoryBytes…), which records and
// runners share.
type Limits = system.Limits

// ReservedEnv are the variables reprise itself sets for the system (the
// paths of the model and config): neither a record nor --env may set them.
// Every other name, REPRISE_FIXTURE_* included, is ordinary environment.
var ReservedEnv = []string{"REPRISE_MODEL", "REPRISE_CONFIG"}

// Env is the environment snapshot at decision time (informational).
type Env struct {
	OS     string            `json:"os,omitempty"`
	Driver string            `json:"driver,omitempty"`
	Libs   map[string]string `json:"libs,omitempty"`
}

// Output is the normalized stored output (at least one of label, score,
// text) and Digest, the output digest: the sha256 of the response's
// canonical bytes as its protocol's codec defines them
// (runners.Codec.Canonical: for jsonl-stdio the response line without an
// echoed request id; for openai {"choices": [{index, content, tool_calls,
// finish_reason}…]}, never id, created, usage, model or
// system_fingerprint; for kserve-v2 the outputs without id), so that two
// answers with the same output have one digest; for an output recorded
// without the response, the sha256 of output.Output.Canonical. Records
// made with a raw response file (record create --output-raw) before the
// digest was canonical hold the raw bytes' sha256: a replay still
// compares with it (replay's exact match, basis "raw response bytes").
type Output struct {
	output.Output
	Digest digest.Digest `json:"digest"`
}

// DrawnSeedBits bounds the seeds reprise draws for a record (record create
// --capture, capture serve --inject-seed): below 2^53, a seed is exact as a
// JSON number in every reader (jq and JavaScript round larger integers).
const DrawnSeedBits = 53

// Protocols are the wire protocols a record may name.
var Protocols = []string{"jsonl-stdio", "openai", "kserve-v2"}

// Marshal encodes r as indented JSON with a trailing newline.
func Marshal(r *Record) ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
