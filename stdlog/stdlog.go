// Package stdlog routes the standard library's default logger (package
// log) into a *slog.Logger. net/http's Transport logs there ("Unsolicited
// response received on idle HTTP channel starting with …", quoting a
// server's bytes) and so does an http.Server without an ErrorLog: each
// line becomes one Warn record of the logger, marked from="go log", its
// escape sequences and control characters stripped (render.Terminal), so
// a hostile server cannot write to the terminal.
package stdlog

import (
	"log"
	"log/slog"
	"strings"

	"github.com/reprise-dev/reprise/render"
)

// writer turns each line written to it into one record of logger().
type writer struct{ logger func() *slog.Logger }

func (w writer) Write(p []byte) (int, error) {
	lg := w.logger()
	for line := range strings.SplitSeq(strings.TrimRight(string(p), "\n"), "\n") {
		lg.Warn(render.Terminal(line, false), "from", "go log")
	}
	return len(p), nil
}

// Route sends the default logger's output to logger() (called on every
// write, so it may make the logger on first use) until the returned
// function restores the default logger's output, flags and prefix. The
// default logger is process state: one caller (the CLI's execute) sets it.
func Route(logger func() *slog.Logger) (restore func()) {
	w, flags, prefix := log.Writer(), log.Flags(), log.Prefix()
	log.SetOutput(writer{logger})
	log.SetFlags(0) // slog stamps the time
	log.SetPrefix("")
	return func() {
		log.SetOutput(w)
		log.SetFlags(flags)
		log.SetPrefix(prefix)
	}
}
