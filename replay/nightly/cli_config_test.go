package nightly

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/verdict"
)

func TestRequest(t *testing.T) {
	given := map[string]bool{}
	ok := Request{Parallel: 1, FDR: 0.05, N: 100, ConfirmN: 1000, FleetRuns: 50, FleetAlpha: 0.01, Given: func(f string) bool { return given[f] }}
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	o, err := ok.Options(now)
	if err != nil || o.Out != DefaultOut(now, Shard{}) || !o.Replay.Sequential || o.FleetRuns != 0 || o.NoFleet {
		t.Fatalf("Options() = %+v, %v", o, err)
	}
	ok.Shard, given["n"], given["fleet-runs"] = "1/2", true, true
	if o, err = ok.Options(now); err != nil || o.Shard != (Shard{I: 1, N: 2}) || o.Replay.Sequential || o.FleetRuns != 50 {
		t.Errorf("with --shard 1/2, -n, --fleet-runs: Options() = %+v, %v", o, err)
	}
	if _, err := (&Request{Shard: "2/2", Given: ok.Given}).Options(now); err == nil || !strings.HasPrefix(err.Error(), "--shard: ") {
		t.Errorf("--shard 2/2: %v; want an error naming it", err)
	}
	if _, err := (&Request{Alpha: 2, Given: ok.Given}).Options(now); !errors.Is(err, verdict.ErrRules) {
		t.Errorf("--alpha 2: %v; want verdict.ErrRules", err)
	}
	given["confirm-n"] = true
	for flag, edit := range map[string]func(*Request){
		"--stratify": func(r *Request) { r.Stratify = "model" }, "--sample": func(r *Request) { r.Sample = -1 },
		"--parallel": func(r *Request) { r.Parallel = 0 }, "--fdr": func(r *Request) { r.FDR = 1 },
		"--min-rate": func(r *Request) { r.MinRate = 1 }, "-n": func(r *Request) { r.N = 0 },
		"--confirm-n": func(r *Request) {}, "--fleet-runs": func(r *Request) { r.FleetRuns = -1 },
	} {
		r := ok
		edit(&r)
		if err := r.Validate(); err == nil || !strings.HasPrefix(err.Error(), flag) {
			t.Errorf("%s: Validate() = %v; want an error naming it", flag, err)
		}
	}
}
