package capture

import (
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/output"
)

// TestBuildTypedAndCaptured: the typed record holds the declared runtime,
// the captured one the session's environment and limits and the answer.
func TestBuildTypedAndCaptured(t *testing.T) {
	p, _ := parts(t)
	ctx, st := t.Context(), openStore(t)
	label := "approved"
	rec, err := BuildTyped(ctx, st, p, Typed{Output: output.Output{Label: &label}, Env: map[string]string{"A": "1"}, SeedBits: 32})
	if err != nil || rec.Runtime.SeedBits != 32 || rec.Runtime.EnvVars["A"] != "1" || *rec.Output.Label != label {
		t.Fatalf("BuildTyped = %+v, %v", rec, err)
	}
	lo := launch.Options{HostClass: p.HardwareClass, Env: map[string]string{"B": "2"}}
	pool := launch.NewPool(st, launch.PoolOptions{Runner: oneAnswer{`{"label":"approved"}`}})
	defer pool.Close(ctx)
	rec, err = BuildCaptured(ctx, st, p, lo, Options{Rand: strings.NewReader("\x00\x00\x00\x00\x00\x00\x00\x54")},
		func(target launch.Target, f func(*launch.Session) error) error {
			sess, err := pool.Acquire(ctx, target, lo)
			if err != nil {
				return err
			}
			defer pool.Release(ctx, sess, false)
			return f(sess)
		})
	if err != nil || rec.Output.Label == nil || rec.Runtime.EnvVars["B"] != "2" || rec.Runtime.Limits == nil {
		t.Fatalf("BuildCaptured = %+v, %v", rec, err)
	}
}
