package capture

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/fsread"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/system"
)

// SystemFileSchema marks a system file: a composite version without a
// decision.
const SystemFileSchema = "reprise/system/v1"

// SystemFile is a system file: the system object of a record (with its id)
// and how the system is served.
type SystemFile struct {
	Schema  string        `json:"schema"`
	System  system.System `json:"system"`
	Runtime struct {
		Protocol      string `json:"protocol"`
		HardwareClass string `json:"hardware_class"`
	} `json:"runtime"`
}

// ErrSystemFile is wrapped by the error of a system argument that cannot be
// read, or is neither a system file nor a decision record.
var ErrSystemFile = errors.New("not a system file")

// systemFileError reads as its message and wraps ErrSystemFile.
type systemFileError struct{ msg string }

func (e *systemFileError) Error() string { return e.msg }
func (e *systemFileError) Unwrap() error { return ErrSystemFile }

// BuildSystem puts p's model, config and components (files or
// directories, as Build) into the store and returns the
// system file of p: its system object and id are those a decision record
// of these parts would hold (names and versions from the files' metadata).
// p's Input and Timestamp are ignored.
func BuildSystem(ctx context.Context, st Store, p Parts) (*SystemFile, error) {
	p.Timestamp = time.Unix(0, 0).UTC()
	rec, err := build(ctx, st, p, false)
	if err != nil {
		return nil, err
	}
	f := &SystemFile{Schema: SystemFileSchema, System: rec.System}
	f.Runtime.Protocol, f.Runtime.HardwareClass = rec.Runtime.Protocol, rec.Runtime.HardwareClass
	return f, nil
}

// Marshal is the file's indented JSON, ending in a newline.
func (f *SystemFile) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(f, "", "  ")
	return append(b, '\n'), err
}

// MaxSystemFileSize is the largest system file or record LoadTarget reads,
// in bytes.
const MaxSystemFileSize = 16 << 20

// LoadTarget reads a system file or a decision record (a regular file of at
// most MaxSystemFileSize bytes, see fsread.Open) and returns what to
// start. A file that cannot be read or is neither wraps ErrSystemFile; a
// system id that does not recompute wraps system.ErrIDMismatch.
func LoadTarget(path string) (launch.Target, error) {
	b, err := fsread.ReadFile(context.Background(), path, MaxSystemFileSize, "")
	if err != nil {
		return launch.Target{}, &systemFileError{fmt.Sprintf("system %s: %v", path, err)}
	}
	var head struct{ Schema string }
	json.Unmarshal(b, &head)
	if head.Schema == record.Schema {
		rec, err := record.Parse(b)
		if err != nil {
			return launch.Target{}, fmt.Errorf("system %s: %w", path, err)
		}
		if err := rec.System.Check(); err != nil {
			return launch.Target{}, fmt.Errorf("system %s: %w", path, err)
		}
		return launch.FromRecord(rec), nil
	}
	var f SystemFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil || f.Schema != SystemFileSchema {
		return launch.Target{}, &systemFileError{fmt.Sprintf("system %s: not a system file (%s) or a decision record: %v", path, SystemFileSchema, err)}
	}
	if err := f.System.Check(); err != nil {
		return launch.Target{}, fmt.Errorf("system %s: %w", path, err)
	}
	return launch.Target{System: f.System, Protocol: f.Runtime.Protocol, HardwareClass: f.Runtime.HardwareClass}, nil
}

// SystemID reads arg as a system id (sha256:…) or a system file or record
// (LoadTarget).
func SystemID(arg string) (digest.Digest, error) {
	if d, err := digest.Parse(arg); err == nil {
		return d, nil
	}
	t, err := LoadTarget(arg)
	return t.System.ID, err
}
