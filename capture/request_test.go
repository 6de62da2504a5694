package capture

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners"
)

func TestRequestParts(t *testing.T) {
	none := func(string) bool { return false }
	img := "example/loan@sha256:" + strings.Repeat("a", 64)
	ok := Request{SystemParts: SystemParts{Image: img, Model: "m", Config: "c"}, Input: "in.json", Protocol: "jsonl-stdio", Given: none,
		Now: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}
	p, err := ok.Parts()
	if err != nil || p.Image.IsZero() || !p.Timestamp.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) || p.Params.Seed != nil {
		t.Fatalf("Parts() = %+v, %v", p, err)
	}
	for name, c := range map[string]struct {
		edit func(*Request)
		msg  string
	}{
		"no input":         {func(r *Request) { r.Input = "" }, "--input is required"},
		"no model":         {func(r *Request) { r.Model = "" }, "--model is required"},
		"protocol":         {func(r *Request) { r.Protocol = "grpc" }, "--protocol: unknown protocol"},
		"http on jsonl":    {func(r *Request) { r.HTTP = record.HTTP{Port: 1} }, "are for the HTTP protocols"},
		"timestamp":        {func(r *Request) { r.Timestamp = "yesterday" }, "--timestamp: not an RFC 3339 time"},
		"component":        {func(r *Request) { r.Components = []string{"tok"} }, "want NAME=PATH or NAME=sha256:…"},
		"component digest": {func(r *Request) { r.Components = []string{"tok=sha256:zz"} }, "--component tok:"},
		"eval suite":       {func(r *Request) { r.EvalSuite = "sha256:zz" }, "--eval-suite:"},
	} {
		t.Run(name, func(t *testing.T) {
			r := ok
			c.edit(&r)
			_, err := r.Parts()
			if !errors.Is(err, ErrPart) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("Parts() = %v; want ErrPart saying %q", err, c.msg)
			}
		})
	}
}

func TestTypedOutputAndCounts(t *testing.T) {
	all := func(string) bool { return true }
	if out, err := TypedOutput("approve", 0.5, "x", all); err != nil || *out.Label != "approve" {
		t.Errorf("TypedOutput = %+v, %v", out, err)
	}
	if _, err := TypedOutput("", 0, "", func(string) bool { return false }); !errors.Is(err, ErrPart) {
		t.Errorf("no output: %v; want ErrPart", err)
	}
	for _, c := range []struct {
		bits, refs int
		capture    bool
		ok         bool
	}{{64, 0, false, true}, {32, 5, true, true}, {0, 0, false, false}, {65, 0, false, false}, {64, 5, false, false}, {64, -1, true, false}} {
		if err := CheckCounts(c.bits, c.refs, c.capture); (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrPart)) {
			t.Errorf("CheckCounts(%d, %d, %v) = %v", c.bits, c.refs, c.capture, err)
		}
	}
}

func TestCanonicalResponseTooLong(t *testing.T) {
	big := strings.NewReader(strings.Repeat("x", runners.DefaultMaxResponseBytes+1))
	if _, err := CanonicalResponse(big, nil); !errors.Is(err, ErrPart) {
		t.Errorf("CanonicalResponse(too long) = %v; want ErrPart", err)
	}
}
