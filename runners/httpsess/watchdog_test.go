package httpsess

import (
	"context"
	"testing"
	"time"
)

// mapCtx is a context whose dynamic type is not comparable.
type mapCtx struct {
	context.Context
	m map[string]int
}

// TestWatchdogAfterRelease: a run armed after release still times out, and
// a parent context of a type that cannot be compared works (no panic).
func TestWatchdogAfterRelease(t *testing.T) {
	var w watchdog
	ctx := w.arm(context.Background(), time.Hour)
	w.disarm()
	w.release()
	if ctx.Err() == nil {
		t.Fatal("release left the context live")
	}
	ctx = w.arm(context.Background(), 50*time.Millisecond)
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a run armed after release never timed out")
	}
	w.disarm()
	parent := mapCtx{context.Background(), map[string]int{}}
	for range 2 {
		c := w.arm(parent, time.Hour)
		if c.Err() != nil {
			t.Fatal("a fresh run's context is done")
		}
		w.disarm()
	}
	w.release()
}
