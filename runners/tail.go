package runners

import (
	"bytes"
	"errors"
	"strings"
	"sync"
)

// Tail keeps the last Max bytes written to it (a system's stderr, for error
// messages). It is safe for concurrent use.
type Tail struct {
	Max int
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p, dropping the oldest bytes beyond Max.
func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if t.buf.Len() > t.Max {
		b := append([]byte(nil), t.buf.Bytes()[t.buf.Len()-t.Max:]...)
		t.buf.Reset()
		t.buf.Write(b)
	}
	return len(p), nil
}

// String returns the bytes kept.
func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

// Explain is the error that says why a system's output ended: the parts a
// lifecycle found (its exit status, a limit that killed it…), then the
// stderr tail ("stderr: …") when it is not blank, joined by "; "; nil when
// there is nothing to say.
func (t *Tail) Explain(parts []string) error {
	if tail := strings.TrimSpace(t.String()); tail != "" {
		parts = append(parts, "stderr: "+tail)
	}
	if len(parts) == 0 {
		return nil
	}
	return errors.New(strings.Join(parts, "; "))
}
