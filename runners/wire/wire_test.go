package wire

import (
	"errors"
	"testing"

	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners"
)

// TestLookupKnowsTheRecordsProtocols: the names a record may carry
// (record.Protocols, the schema's enum) are exactly the names Lookup maps,
// each to the codec of that name. record cannot import runners, so this
// test holds the two lists together.
func TestLookupKnowsTheRecordsProtocols(t *testing.T) {
	for _, name := range record.Protocols {
		c, err := Lookup(name, runners.HTTPConfig{})
		if err != nil {
			t.Errorf("Lookup(%q): %v", name, err)
			continue
		}
		if c.Name() != name {
			t.Errorf("Lookup(%q) = codec %q", name, c.Name())
		}
	}
	if _, err := Lookup("grpc", runners.HTTPConfig{}); !errors.Is(err, runners.ErrUnsupported) {
		t.Errorf("Lookup(grpc) = %v, want ErrUnsupported", err)
	}
}

func TestIsHTTP(t *testing.T) {
	for name, want := range map[string]bool{"jsonl-stdio": false, "": false, "openai": true, "kserve-v2": true, "grpc": false} {
		if got := IsHTTP(name); got != want {
			t.Errorf("IsHTTP(%q) = %v, want %v", name, got, want)
		}
	}
}
