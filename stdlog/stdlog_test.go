package stdlog

import (
	"bytes"
	"log"
	"log/slog"
	"os"
	"strings"
	"testing"
)

// TestRoute: while routed, each line of the default logger is one Warn
// record with its escape sequences stripped; restore puts the default
// logger's output, flags and prefix back.
func TestRoute(t *testing.T) {
	var orig, got bytes.Buffer
	log.SetOutput(&orig)
	log.SetFlags(log.Lshortfile)
	log.SetPrefix("p: ")
	t.Cleanup(func() { log.SetOutput(os.Stderr); log.SetFlags(log.LstdFlags); log.SetPrefix("") })
	lg := slog.New(slog.NewTextHandler(&got, nil))
	restore := Route(func() *slog.Logger { return lg })
	log.Print("Unsolicited response \x1b[2J FORGED\nsecond line")
	restore()
	out := got.String()
	if strings.Count(out, "level=WARN") != 2 || strings.Contains(out, "\x1b") || !strings.Contains(out, `from="go log"`) || !strings.Contains(out, "second line") {
		t.Errorf("routed: %q", out)
	}
	if orig.Len() != 0 {
		t.Errorf("the original output got %q while routed", orig.String())
	}
	log.Print("after")
	if log.Writer() != &orig || log.Flags() != log.Lshortfile || log.Prefix() != "p: " || !strings.Contains(orig.String(), "p: stdlog_test.go") {
		t.Errorf("not restored: flags %d prefix %q, original got %q", log.Flags(), log.Prefix(), orig.String())
	}
}
