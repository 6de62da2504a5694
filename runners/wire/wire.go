// Package wire maps the protocol names records use to codecs: the one place
// where protocol names are compared.
package wire

import (
	"fmt"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/jsonl"
)

// Lookup returns the codec of a protocol name. A protocol a record may name
// but reprise does not speak yet wraps runners.ErrUnsupported.
func Lookup(protocol string) (runners.Codec, error) {
	switch protocol {
	case "jsonl-stdio", "":
		return jsonl.Codec{}, nil
	}
	return nil, fmt.Errorf("%w: protocol %s is not implemented yet (jsonl-stdio is)", runners.ErrUnsupported, protocol)
}
