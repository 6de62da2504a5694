package compare

import (
	"strings"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/replay/nightly"
)

func TestRequest(t *testing.T) {
	ok := Request{N: 20, Alpha: 0.05, Margin: 0.02, FDR: 0.05, Conf: 0.95, Shard: "0/3", Given: func(f string) bool { return f == "cpus" }}
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	o, err := ok.Options(now)
	if err != nil || o.Out != "out/compare-2026-03-04-shard-0-of-3" || o.Shard != (nightly.Shard{I: 0, N: 3}) || !o.Replay.Explicit.CPUs {
		t.Fatalf("Options() = %+v, %v", o, err)
	}
	if _, err := (&Request{Shard: "x", Given: ok.Given}).Options(now); err == nil || !strings.HasPrefix(err.Error(), "--shard: ") {
		t.Errorf("--shard x: %v; want an error naming it", err)
	}
	for flag, edit := range map[string]func(*Request){
		"--sample": func(r *Request) { r.Sample = -1 }, "-n": func(r *Request) { r.N = 100_001 },
		"--alpha": func(r *Request) { r.FDR = 0 }, "--margin": func(r *Request) { r.Margin = 1 },
	} {
		r := ok
		edit(&r)
		if err := r.Validate(); err == nil || !strings.HasPrefix(err.Error(), flag) {
			t.Errorf("%s: Validate() = %v; want an error naming it", flag, err)
		}
	}
}
