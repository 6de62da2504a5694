package runners

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestBudgetStart: run 0 gets the start timeout, later runs the run
// timeout, and the session deadline bounds both (issue 8, item 15).
func TestBudgetStart(t *testing.T) {
	now := time.Unix(0, 0)
	b := NewBudget(Spec{RunTimeout: time.Second}, 10*time.Minute, 30*time.Second, time.Hour, now)
	if d, _ := b.Next(0, now); d != 10*time.Minute {
		t.Errorf("run 0 timeout %s, want the default start timeout 10m", d)
	}
	if d, _ := b.Next(1, now); d != time.Second {
		t.Errorf("run 1 timeout %s, want 1s", d)
	}
	if d, _ := b.Next(0, now.Add(59*time.Minute)); d != time.Minute {
		t.Errorf("run 0 near the deadline: %s, want 1m", d)
	}
	if _, err := b.Next(3, now.Add(time.Hour)); !errors.Is(err, ErrTimeout) {
		t.Errorf("past the deadline: %v", err)
	}
	err := b.Explain(ErrTimeout, 0, 10*time.Minute)
	if !strings.Contains(err.Error(), "start timeout 10m0s") {
		t.Errorf("run 0: %v", err)
	}
	if err := b.Explain(ErrTimeout, 0, time.Minute); !strings.Contains(err.Error(), "session timeout") {
		t.Errorf("run 0 cut by the session: %v", err)
	}
	if err := b.Explain(ErrTimeout, 2, time.Second); err != ErrTimeout {
		t.Errorf("run 2: %v", err)
	}
}
