package capture

import (
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners"
)

// TestServerOf: what the server said goes into runtime.server; a value a
// record cannot hold (control characters, over 200 bytes) is dropped, and
// a server that said nothing gives no runtime.server.
func TestServerOf(t *testing.T) {
	got := serverOf(runners.Response{Model: "tiny:latest", Fingerprint: "fp_ollama\x1b[2J"},
		runners.Info{ModelDigest: strings.Repeat("a", 64), ModelDigestFrom: "GET /api/tags"})
	want := record.Server{Model: "tiny:latest", ModelDigest: strings.Repeat("a", 64), ModelDigestFrom: "GET /api/tags"}
	if got == nil || *got != want {
		t.Fatalf("%+v, want %+v", got, want)
	}
	if got := serverOf(runners.Response{Fingerprint: strings.Repeat("f", 201)}, runners.Info{}); got != nil {
		t.Fatalf("nothing a record can hold: %+v", got)
	}
}
