package replay

import (
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/launch"
)

func TestRequest(t *testing.T) {
	given := map[string]bool{}
	ok := Request{N: 100, Sequential: true, MaxRuns: 1000, Batch: 50, MinFrequency: 0.5, Alpha: 0.01, Conf: 0.95, Margin: 0.1, ReplaySeed: 7,
		Given: func(f string) bool { return given[f] }}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	if o := ok.Options(launch.Options{}); !o.Sequential || o.ReplaySeed != nil || o.Explicit.Memory {
		t.Errorf("Options() = %+v; want sequential, derived seed, nothing explicit", o)
	}
	given["n"], given["replay-seed"], given["memory"] = true, true, true
	if o := ok.Options(launch.Options{}); o.Sequential || o.ReplaySeed == nil || *o.ReplaySeed != 7 || !o.Explicit.Memory {
		t.Errorf("with -n, --replay-seed, --memory: Options() = %+v", o)
	}
	for flag, edit := range map[string]func(*Request){
		"-n": func(r *Request) { r.N = 0 }, "--max-runs": func(r *Request) { r.MaxRuns = 2_000_000 }, "--batch": func(r *Request) { r.Batch = 0 },
		"--min-frequency": func(r *Request) { r.MinFrequency = 1 }, "--alpha": func(r *Request) { r.Alpha = 0 },
		"--conf": func(r *Request) { r.Conf = 1 }, "--margin": func(r *Request) { r.Margin = -1 },
	} {
		r := ok
		edit(&r)
		if err := r.Validate(); err == nil || !strings.HasPrefix(err.Error(), flag+" must") {
			t.Errorf("%s: Validate() = %v; want an error naming it", flag, err)
		}
	}
}
