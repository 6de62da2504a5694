package record

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/output"
)

// Reference points at reference outputs: Runs outputs of the pinned system
// drawn with fresh seeds at decision time (record create --capture
// --reference-runs K), kept as one blob (ReferenceMediaType) in the store.
// A replay compares its outputs' distribution with theirs.
type Reference struct {
	Digest digest.Digest `json:"digest"`
	Runs   int           `json:"runs"`
}

// ReferenceMediaType is the media type of a reference blob: one normalized
// output per line, as JSON ({"label":…,"score":…,"text":…}).
const ReferenceMediaType = "application/vnd.reprise.reference-outputs.v1+jsonl"

// EncodeReference is the blob of reference outputs outs.
func EncodeReference(outs []output.Output) []byte {
	var b bytes.Buffer
	for _, o := range outs {
		line, _ := json.Marshal(o)
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// DecodeReference reads a reference blob. Errors: a line that is not a
// valid output (output.Output.Validate), naming the line.
func DecodeReference(blob []byte) ([]output.Output, error) {
	var outs []output.Output
	sc := bufio.NewScanner(bytes.NewReader(blob))
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for n := 1; sc.Scan(); n++ {
		var o output.Output
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.DisallowUnknownFields()
		if err := d.Decode(&o); err != nil {
			return nil, fmt.Errorf("reference outputs, line %d: %w", n, err)
		}
		if err := o.Validate(); err != nil {
			return nil, fmt.Errorf("reference outputs, line %d: %w", n, err)
		}
		outs = append(outs, o)
	}
	return outs, sc.Err()
}
