// Package record defines the decision record (schema "reprise/decision/v1"):
// the Go types, Validate (independent of any codec), and the JSON codec
// (strict decoding: unknown fields, missing fields, duplicate keys and bad
// values are problems that name the field).
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
}

// Env is the environment snapshot at decision time (informational).
type Env struct {
	OS     string            `json:"os,omitempty"`
	Driver string            `json:"driver,omitempty"`
	Libs   map[string]string `json:"libs,omitempty"`
}

// Output is the normalized stored output (at least one of label, score,
// text) and Digest, the sha256 of the raw response bytes (or, for an output
// recorded without them, of output.Output.Canonical).
type Output struct {
	output.Output
	Digest digest.Digest `json:"digest"`
}

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
