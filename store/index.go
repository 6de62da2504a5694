package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"

	"github.com/reprise-dev/reprise/journal"
)

// descriptor is the part of an OCI descriptor the store reads and writes.
type descriptor struct {
	MediaType    string            `json:"mediaType"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// manifest is the artifact manifest the store writes for a blob put with
// metadata.
type manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        descriptor        `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// index is index.json. The store reads only the manifests' descriptors, but
// it keeps every field as read, top-level and per entry (annotations,
// platform, urls, subject, data, and fields unknown to it, written by other
// OCI tools), and writes them back unchanged when it adds an entry.
type index struct {
	fields    map[string]json.RawMessage // every top-level field but "manifests"
	Manifests []indexEntry
}

// indexEntry is one of index.json's manifests.
type indexEntry struct {
	descriptor                            // what the store reads
	raw        map[string]json.RawMessage // every field as read; nil for an entry the store added
}

func newIndex() *index {
	return &index{fields: map[string]json.RawMessage{
		"schemaVersion": json.RawMessage(`2`),
		"mediaType":     json.RawMessage(`"application/vnd.oci.image.index.v1+json"`),
	}}
}

func (idx *index) UnmarshalJSON(b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	if fields == nil {
		return errors.New("not a JSON object")
	}
	var entries []json.RawMessage
	if m, ok := fields["manifests"]; ok {
		if err := json.Unmarshal(m, &entries); err != nil {
			return fmt.Errorf("manifests: %w", err)
		}
	}
	delete(fields, "manifests")
	idx.fields, idx.Manifests = fields, make([]indexEntry, len(entries))
	for i, e := range entries {
		if err := json.Unmarshal(e, &idx.Manifests[i].raw); err != nil {
			return fmt.Errorf("manifests[%d]: %w", i, err)
		}
		if err := json.Unmarshal(e, &idx.Manifests[i].descriptor); err != nil {
			return fmt.Errorf("manifests[%d]: %w", i, err)
		}
	}
	return nil
}

func (idx *index) MarshalJSON() ([]byte, error) {
	out := maps.Clone(idx.fields)
	if out == nil {
		out = map[string]json.RawMessage{}
	}
	entries := make([]any, len(idx.Manifests))
	for i, e := range idx.Manifests {
		if e.raw != nil {
			entries[i] = e.raw
		} else {
			entries[i] = e.descriptor
		}
	}
	m, err := json.Marshal(entries)
	if err != nil {
		return nil, err
	}
	out["manifests"] = m
	return json.Marshal(out)
}

// readIndex reads index.json; a missing or malformed one is ErrNotStore.
func (s *Layout) readIndex() (*index, error) {
	b, err := os.ReadFile(filepath.Join(s.root, indexFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store %s: %w: %s is missing", s.root, ErrNotStore, indexFile)
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.root, err)
	}
	var idx index
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("store %s: %w: %s: %v", s.root, ErrNotStore, indexFile, err)
	}
	return &idx, nil
}

// writeIndex replaces index.json atomically (mode 0644).
func (s *Layout) writeIndex(idx *index) error {
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return journal.WriteAtomicVia(s.ingestDir(), filepath.Join(s.root, indexFile), append(b, '\n'))
}
