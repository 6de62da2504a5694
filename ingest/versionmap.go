// Package ingest turns decision logs as production teams write them (the
// shape of seeds/003: request_id, timestamp, input_hash, model_version,
// inference_image, config_version, output {decision, confidence}) into
// decision records, resolving every name and tag through a version map,
// and selects records with CEL expressions and time ranges. A ColumnMap
// says which column holds each field: by default the nested path
// (output.decision) or the flat export's name (output_decision).
//
// A row it cannot resolve (an unknown version or tag, an input not in the
// store, a malformed value) is a *record.RowError naming its line and
// reason; nothing is guessed.
//
// Every file it reads is a regular file with a stated size limit
// (package fsread); a Parquet log is checked for decompression bombs
// (record.CheckParquet) before a page is decoded.
//
// It imports digest, output, system, store, record and fsread.
package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/fsread"
	"github.com/reprise-dev/reprise/system"
)

// VersionMapSchema names the version map format.
const VersionMapSchema = "reprise/version-map/v1"

// ErrVersionMap: the version map file is not valid.
var ErrVersionMap = errors.New("invalid version map")

// VersionMap is what the model registry and the image registry knew when
// the log was written: each name and tag a log row may carry, resolved to
// a digest. The file is JSON:
//
//	{
//	  "schema": "reprise/version-map/v1",
//	  "defaults": {"protocol": "jsonl-stdio", "hardware_class": "cpu/amd64/x86-64-v3",
//	               "input_media_type": "application/json"},
//	  "models":  {"registry://models/loan-approver:v2.4.1":
//	                {"name": "loan-approver", "version": "2.4.1", "digest": "sha256:…"}},
//	  "configs": {"configs/prod/loan-params:v3":
//	                {"name": "loan-params", "version": "3", "digest": "sha256:…"}},
//	  "images":  {"docker.io/mycompany/inference-loan:sha-a1b2c3d4":
//	                {"image": "registry.example.com/inference/loan@sha256:…",
//	                 "protocol": "jsonl-stdio", "hardware_class": "cpu/amd64/x86-64-v3"}}
//	}
//
// An image entry may also be just the pinned reference as a string; its
// protocol and hardware class then come from defaults. Every image must be
// pinned by digest (a tag mapped to a tag resolves nothing).
type VersionMap struct {
	Schema   string                     `json:"schema"`
	Defaults Runtime                    `json:"defaults"`
	Models   map[string]system.Artifact `json:"models"`
	Configs  map[string]system.Artifact `json:"configs"`
	Images   map[string]Image           `json:"images"`
}

// Runtime is how a system is served (defaults, or per image).
type Runtime struct {
	Protocol       string `json:"protocol,omitempty"`
	HardwareClass  string `json:"hardware_class,omitempty"`
	InputMediaType string `json:"input_media_type,omitempty"`
}

// Image is one image tag resolved: the pinned reference and how it serves.
type Image struct {
	Image system.ImageRef `json:"image"`
	Runtime
	Components map[string]digest.Digest `json:"components,omitempty"`
}

// UnmarshalJSON accepts an object or a bare pinned reference.
func (im *Image) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &im.Image)
	}
	type plain Image
	return json.Unmarshal(b, (*plain)(im))
}

// ParseVersionMap decodes and checks a version map.
func ParseVersionMap(b []byte) (*VersionMap, error) {
	var m VersionMap
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: line %d: %v", ErrVersionMap, jsonErrLine(b, err, dec.InputOffset()), err)
	}
	if m.Schema != VersionMapSchema {
		return nil, fmt.Errorf("%w: schema %q, want %q", ErrVersionMap, m.Schema, VersionMapSchema)
	}
	for k, a := range m.Models {
		if a.Name == "" || a.Version == "" || a.Digest.IsZero() {
			return nil, fmt.Errorf("%w: models[%q] needs name, version and digest", ErrVersionMap, k)
		}
	}
	for k, a := range m.Configs {
		if a.Name == "" || a.Version == "" || a.Digest.IsZero() {
			return nil, fmt.Errorf("%w: configs[%q] needs name, version and digest", ErrVersionMap, k)
		}
	}
	for k, im := range m.Images {
		if im.Image.IsZero() {
			return nil, fmt.Errorf("%w: images[%q] needs a pinned image", ErrVersionMap, k)
		}
	}
	if m.Defaults.InputMediaType == "" {
		m.Defaults.InputMediaType = "application/json"
	}
	return &m, nil
}

// jsonErrLine is the 1-based line of b where decoding failed with err: at
// a syntax or type error's offset, else at off (how far the decoder read;
// the end of the file for a truncated one).
func jsonErrLine(b []byte, err error, off int64) int {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		off = int64(len(b))
	}
	off = max(0, min(off, int64(len(b))))
	return 1 + bytes.Count(b[:off], []byte("\n"))
}

// MaxVersionMapSize is the largest version map file, in bytes.
const MaxVersionMapSize = 16 << 20

// LoadVersionMap reads a version map file: a regular file (see
// fsread.Open) of at most MaxVersionMapSize bytes.
func LoadVersionMap(path string) (*VersionMap, error) {
	b, err := fsread.ReadFile(context.Background(), path, MaxVersionMapSize, "")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrVersionMap, err)
	}
	m, err := ParseVersionMap(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
