// Package jsonl is the jsonl-stdio wire protocol: one JSON request per line
// written to the system's stdin, one JSON response per line read from its
// stdout. Codec encodes and decodes; Conn carries a stdio codec's lines to a
// started system, pairs requests with responses, applies a per-run timeout
// and turns every failure into a *runners.RunError naming the run and
// wrapping runners.ErrProtocol, ErrCrashed or ErrTimeout.
package jsonl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/runners"
)

// Conn is a jsonl-stdio connection to one running system. It is not safe for
// concurrent use: one run at a time.
//
// Conn pairs each request with the next line, and checks that the pairing
// holds: a line read while no request is outstanding (a line before the
// first request, a second line for one request) is an unsolicited line, and
// when the system echoes request ids (Request.ID, set to "r<run>" by Do) an
// id that is not the request's is a mismatch. Both are reported as a
// *runners.OutOfStepError wrapping runners.ErrProtocol: every run since the
// last run whose answer echoed its own id (run 0 for a system that echoes
// none) may carry another request's answer. Finish catches a surplus line
// printed after the last answer.
type Conn struct {
	codec runners.Codec
	w     io.Writer
	lines chan lineResult
	// OnEOF, when set, explains why the output ended (exit status, stderr
	// tail); its error is wrapped into the ErrCrashed message.
	OnEOF func() error
	// Now is the clock used for latencies (default time.Now).
	Now    func() time.Time
	max    int64
	run    int
	broken error
	mu     sync.Mutex
	// echoed is set once an answer echoed its request id: from then on every
	// answer must. verified is the last run whose answer echoed its own id.
	echoed   bool
	verified int

	// Shared with the reader: requests written and lines paired with them.
	cmu            sync.Mutex
	sent, received int
}

type lineResult struct {
	line        []byte
	unsolicited bool
	err         error
}

// errTooLong is the reader's error for a response over the limit.
type errTooLong struct{ max int64 }

func (e errTooLong) Error() string {
	return fmt.Sprintf("a response is longer than the limit of %d bytes (raise it with --max-response-size)", e.max)
}

// New starts reading response lines from r with the default limit
// (runners.DefaultMaxResponseBytes); requests are encoded by codec (a Stdio
// codec) and written to w, one per line.
func New(codec runners.Codec, w io.Writer, r io.Reader) *Conn { return NewLimited(codec, w, r, 0) }

// NewLimited is New with a bound of one response line, in bytes (0 means
// runners.DefaultMaxResponseBytes). A longer line is a protocol error naming
// the limit; the reader never holds more than the limit of one line.
func NewLimited(codec runners.Codec, w io.Writer, r io.Reader, maxResponse int64) *Conn {
	if maxResponse <= 0 {
		maxResponse = runners.DefaultMaxResponseBytes
	}
	c := &Conn{codec: codec, w: w, lines: make(chan lineResult, 1), Now: time.Now, max: maxResponse, verified: -1}
	go c.readLoop(r)
	return c
}

func (c *Conn) readLoop(r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br, c.max)
		if err != nil {
			c.lines <- lineResult{err: err}
			close(c.lines)
			return
		}
		c.cmu.Lock()
		unsolicited := c.received >= c.sent
		if !unsolicited {
			c.received++
		}
		c.cmu.Unlock()
		c.lines <- lineResult{line: line, unsolicited: unsolicited}
	}
}

func readLine(br *bufio.Reader, max int64) ([]byte, error) {
	var buf []byte
	for {
		chunk, isPrefix, err := br.ReadLine()
		if err != nil {
			if err == io.EOF && len(buf) > 0 {
				return buf, nil
			}
			return nil, err
		}
		if int64(len(buf))+int64(len(chunk)) > max {
			return nil, errTooLong{max}
		}
		buf = append(buf, chunk...)
		if !isPrefix {
			return buf, nil
		}
	}
}

// Runs returns how many runs were sent.
func (c *Conn) Runs() int { return c.run }

// Do sends one request and reads its response within timeout (0 = no
// timeout beyond ctx). An error answer ({"error": …}) is a Response with
// Error set and a nil error: the session goes on. After any failure (a
// timeout, a protocol error, a cancelled ctx) the connection is broken:
// later runs fail at once, since responses could be out of step.
func (c *Conn) Do(ctx context.Context, req runners.Request, timeout time.Duration) (runners.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	idx := c.run
	c.run++
	fail := func(err error) (runners.Response, error) {
		re := &runners.RunError{Run: idx, Err: err}
		c.broken = re
		return runners.Response{}, re
	}
	if c.broken != nil {
		return runners.Response{}, &runners.RunError{Run: idx, Err: fmt.Errorf("session unusable after an earlier failure: %w", c.broken)}
	}
	if req.ID == "" {
		req.ID = "r" + strconv.Itoa(idx)
	}
	b, err := c.codec.Encode(req)
	if err != nil {
		return fail(fmt.Errorf("%w: encode request: %v", runners.ErrProtocol, err))
	}
	b = append(b, '\n')

	var timer <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	start := c.Now()
	c.cmu.Lock()
	c.sent++
	c.cmu.Unlock()
	wrote := make(chan error, 1)
	go func() { _, err := c.w.Write(b); wrote <- err }()
	select {
	case err := <-wrote:
		if err != nil {
			return fail(fmt.Errorf("%w: writing the request failed: %v%s", runners.ErrCrashed, err, c.eofDetail()))
		}
	case <-timer:
		return fail(fmt.Errorf("%w: the system did not read its request within %s", runners.ErrTimeout, timeout))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	select {
	case lr, ok := <-c.lines:
		if !ok || lr.err != nil {
			return fail(c.readErr(ok, lr.err))
		}
		if lr.unsolicited {
			return fail(c.outOfStep(fmt.Errorf("%w: unsolicited line %s (it arrived while no request was outstanding)", runners.ErrProtocol, quote(lr.line))))
		}
		resp, err := c.codec.Decode(lr.line)
		if err != nil {
			return fail(err)
		}
		if resp.ID != "" || c.echoed {
			if resp.ID != req.ID {
				return fail(c.outOfStep(fmt.Errorf("%w: the response to request id %q carries id %q: %s", runners.ErrProtocol, req.ID, resp.ID, quote(lr.line))))
			}
			c.echoed, c.verified = true, idx
		}
		resp.Latency = c.Now().Sub(start)
		return resp, nil
	case <-timer:
		return fail(fmt.Errorf("%w: no response within %s", runners.ErrTimeout, timeout))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
}

// outOfStep wraps err: every run after the last id-verified one is suspect.
func (c *Conn) outOfStep(err error) error {
	return &runners.OutOfStepError{Since: c.verified + 1, Err: err}
}

func (c *Conn) readErr(ok bool, err error) error {
	var tl errTooLong
	switch {
	case !ok || err == io.EOF || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, os.ErrClosed):
		return fmt.Errorf("%w: the system closed its output%s", runners.ErrCrashed, c.eofDetail())
	case errors.As(err, &tl):
		return fmt.Errorf("%w: %v", runners.ErrProtocol, err)
	}
	return fmt.Errorf("%w: reading the response: %v%s", runners.ErrProtocol, err, c.eofDetail())
}

// Finish checks that the system printed nothing after its last answer: it
// closes the request stream (CloseWrite when w has it, else Close when w is
// an io.Closer) and reads the output until it ends or wait passes. A line
// read then is an *runners.OutOfStepError, wrapped in a *runners.RunError of
// the last run. No more runs may follow. A broken connection (already
// reported) or a session without runs returns nil.
func (c *Conn) Finish(ctx context.Context, wait time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil || c.run == 0 {
		return nil
	}
	last := c.run - 1
	c.broken = &runners.RunError{Run: c.run, Err: errors.New("the session was finished")}
	switch w := c.w.(type) {
	case interface{ CloseWrite() error }:
		w.CloseWrite()
	case io.Closer:
		w.Close()
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case lr, ok := <-c.lines:
		if !ok || lr.err != nil {
			return nil
		}
		return &runners.RunError{Run: last, Err: c.outOfStep(fmt.Errorf("%w: unsolicited line %s after the last answer", runners.ErrProtocol, quote(lr.line)))}
	case <-t.C:
		return nil
	case <-ctx.Done():
		return nil
	}
}

func (c *Conn) eofDetail() string {
	if c.OnEOF == nil {
		return ""
	}
	if err := c.OnEOF(); err != nil {
		return " (" + err.Error() + ")"
	}
	return ""
}

// Codec is the jsonl-stdio codec. Requests are
// {"id": "r0", "input": <the input JSON>, "params": {…}}; responses are JSON
// objects whose label and text are strings or null and whose score is a
// number or null, or {"error": "…"}, with an optional echoed "id". The exact
// match compares the raw line without its "id".
type Codec struct{}

var _ runners.Codec = Codec{}

// Name is "jsonl-stdio".
func (Codec) Name() string { return "jsonl-stdio" }

// Transport is runners.Stdio.
func (Codec) Transport() runners.Transport { return runners.Stdio }

// Encode writes the request as one JSON object (no newline); a nil input is
// sent as null. The input must be a JSON value.
func (Codec) Encode(req runners.Request) ([]byte, error) {
	if req.Input == nil {
		req.Input = json.RawMessage("null")
	}
	return json.Marshal(req)
}

// Canonical is the raw line without its top-level "id" member (the echoed
// request id, which names the run, not the answer); a line without one is
// returned as is.
func (Codec) Canonical(raw []byte) []byte { return withoutID(raw) }

// withoutID cuts the top-level "id" member out of a JSON object line,
// with the comma that joins it to its neighbours.
func withoutID(raw []byte) []byte {
	if !bytes.Contains(raw, []byte(`"id"`)) {
		return raw
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return raw
	}
	first := true
	for dec.More() {
		start := dec.InputOffset() // after '{' or after the previous value
		key, err := dec.Token()
		if err != nil {
			return raw
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return raw
		}
		end := dec.InputOffset()
		if key == "id" {
			if first { // drop the comma after it instead of the one before
				rest := bytes.TrimLeft(raw[end:], " \t\r")
				if len(rest) > 0 && rest[0] == ',' {
					end = int64(len(raw) - len(rest) + 1)
				}
			}
			return append(bytes.Clone(raw[:start]), raw[end:]...)
		}
		first = false
	}
	return raw
}

// Decode parses one response line (see the package function Decode).
func (Codec) Decode(line []byte) (runners.Response, error) { return Decode(line) }

// Decode parses one response line: a JSON object whose label and text are
// strings or null and whose score is a number or null, with an optional
// echoed "id". {"error": "…"} is an error answer: a Response with Error set
// and no error. Anything that is not such an object wraps
// runners.ErrProtocol.
func Decode(line []byte) (runners.Response, error) {
	trimmed := bytes.TrimSpace(line)
	var wire struct {
		output.Output
		Error json.RawMessage `json:"error"`
		ID    json.RawMessage `json:"id"`
	}
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return runners.Response{}, fmt.Errorf("%w: response is not a JSON object: %s", runners.ErrProtocol, quote(trimmed))
	}
	if err := json.Unmarshal(trimmed, &wire); err != nil {
		return runners.Response{}, fmt.Errorf("%w: invalid response %s: %v", runners.ErrProtocol, quote(trimmed), err)
	}
	resp := runners.Response{Raw: bytes.Clone(line), ID: rawString(wire.ID)}
	if len(wire.Error) > 0 && string(wire.Error) != "null" {
		resp.Error = rawString(wire.Error)
		if resp.Error == "" {
			resp.Error = "(empty error)"
		}
		return resp, nil
	}
	resp.Output = wire.Output
	return resp, nil
}

// rawString is a JSON string's value, or the JSON text of any other value
// ("" for none or null).
func rawString(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}
func quote(b []byte) string {
	if len(b) > 200 {
		return fmt.Sprintf("%q…", b[:200])
	}
	return fmt.Sprintf("%q", b)
}
