// Package record defines the decision record (schema "reprise/decision/v1"):
// the Go types, strict JSON decoding (unknown fields are rejected), validation
// with errors that name the field and the problem, and the composite system
// id.
//
// The composite system id is the sha256 of this canonical text encoding, each
// line ending in "\n", digests written as "sha256:<hex>":
//
//	reprise/system/v1
//	image <image digest>
//	model <model digest>
//	config <config digest>
//	component <name> <digest>      (one line per component, sorted by name, bytewise)
//
// The image digest is the digest of the pinned reference: the manifest digest
// of "name@sha256:…" or the image id of "sha256:…". For example, in a shell:
//
//	printf 'reprise/system/v1\nimage %s\nmodel %s\nconfig %s\n' "$IMG" "$MODEL" "$CFG" | sha256sum
package record

import (
	"encoding/json"
	"time"

	"github.com/reprise-dev/reprise/replay/digest"
)

// Schema is the only schema version this package reads and writes.
const Schema = "reprise/decision/v1"

// Record is one decision record: one production inference, pinned.
type Record struct {
	Schema    string    `json:"schema"`
	RequestID string    `json:"request_id"`
	Timestamp time.Time `json:"timestamp"`
	Input     Input     `json:"input"`
	Params    Params    `json:"params"`
	System    System    `json:"system"`
	Runtime   Runtime   `json:"runtime"`
	Output    Output    `json:"output"`
	// EvalSuite pins the eval suite the system was scored with; zero when none.
	EvalSuite digest.Digest `json:"eval_suite,omitzero"`
}

// Input addresses the exact request bytes in the artifact store.
type Input struct {
	Digest    digest.Digest `json:"digest"`
	MediaType string        `json:"media_type"`
}

// Params are the per-request inference parameters used at decision time.
type Params struct {
	Seed        *int64   `json:"seed,omitempty"`
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	MaxTokens   *int     `json:"max_tokens,omitempty"`
}

// System is the composite version of the system that decided.
type System struct {
	ID         digest.Digest            `json:"id"`
	Image      string                   `json:"image"`
	Model      Artifact                 `json:"model"`
	Config     Artifact                 `json:"config"`
	Components map[string]digest.Digest `json:"components,omitempty"`
}

// Artifact is a named, versioned blob (model or config).
type Artifact struct {
	Name    string        `json:"name"`
	Version string        `json:"version"`
	Digest  digest.Digest `json:"digest"`
}

// Runtime says how the system was served.
type Runtime struct {
	Protocol      string `json:"protocol"`
	HardwareClass string `json:"hardware_class"`
	Env           *Env   `json:"env,omitempty"`
}

// Env is the environment snapshot at decision time (informational).
type Env struct {
	OS     string            `json:"os,omitempty"`
	Driver string            `json:"driver,omitempty"`
	Libs   map[string]string `json:"libs,omitempty"`
}

// Output is the normalized stored output; at least one of Label, Score, Text
// is set. Digest is the sha256 of the raw response bytes.
type Output struct {
	Label  *string       `json:"label"`
	Score  *float64      `json:"score"`
	Text   *string       `json:"text"`
	Digest digest.Digest `json:"digest"`
}

// Protocols are the wire protocols a record may name.
var Protocols = []string{"jsonl-stdio", "openai", "kserve-v2"}

// CanonicalOutput is the JSON encoding whose digest stands for an output
// recorded without its raw response bytes: {"label":…,"score":…,"text":…} in
// that order, unset fields omitted, as Go's encoding/json writes it.
func CanonicalOutput(label *string, score *float64, text *string) []byte {
	b, _ := json.Marshal(struct {
		Label *string  `json:"label,omitempty"`
		Score *float64 `json:"score,omitempty"`
		Text  *string  `json:"text,omitempty"`
	}{label, score, text}) // cannot fail: strings and finite numbers
	return b
}

// Marshal encodes r as indented JSON with a trailing newline.
func Marshal(r *Record) ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
