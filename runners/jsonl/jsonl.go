// Package jsonl is the jsonl-stdio wire protocol: one JSON request per line
// written to the system's stdin, one JSON response per line read from its
// stdout. Codec encodes and decodes; Conn carries a stdio codec's lines to a
// started system, pairs requests with responses, applies a per-run timeout
// (taken from a session's runners.Budget by DoWithin and DoAllWithin)
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
	echoed    bool
	verified  int
	pipelined bool

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
	return c.do(ctx, req, timeout)
}

// fail breaks the connection with the error of run idx.
func (c *Conn) fail(idx int, err error) (runners.Response, error) {
	re := &runners.RunError{Run: idx, Err: err}
	c.broken = re
	return runners.Response{}, re
}

func (c *Conn) do(ctx context.Context, req runners.Request, timeout time.Duration) (runners.Response, error) {
	idx := c.run
	c.run++
	if c.broken != nil {
		return runners.Response{}, &runners.RunError{Run: idx, Err: fmt.Errorf("session unusable after an earlier failure: %w", c.broken)}
	}
	if req.ID == "" {
		req.ID = "r" + strconv.Itoa(idx)
	}
	b, err := c.codec.Encode(req)
	if err != nil {
		return c.fail(idx, fmt.Errorf("%w: encode request: %v", runners.ErrProtocol, err))
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
			return c.fail(idx, fmt.Errorf("%w: writing the request failed: %v%s", runners.ErrCrashed, err, c.eofDetail()))
		}
	case <-timer:
		return c.fail(idx, fmt.Errorf("%w: the system did not read its request within %s", runners.ErrTimeout, timeout))
	case <-ctx.Done():
		return c.fail(idx, ctx.Err())
	}
	select {
	case lr, ok := <-c.lines:
		resp, err := c.answer(idx, req.ID, lr, ok)
		if err != nil {
			return c.fail(idx, err)
		}
		resp.Latency = c.Now().Sub(start)
		return resp, nil
	case <-timer:
		return c.fail(idx, fmt.Errorf("%w: no response within %s", runners.ErrTimeout, timeout))
	case <-ctx.Done():
		return c.fail(idx, ctx.Err())
	}
}

// answer checks and decodes the line read for run idx, whose request id is
// id: an unsolicited line or an echoed id that is not id is an
// *runners.OutOfStepError.
func (c *Conn) answer(idx int, id string, lr lineResult, ok bool) (runners.Response, error) {
	if !ok || lr.err != nil {
		return runners.Response{}, c.readErr(ok, lr.err)
	}
	if lr.unsolicited {
		return runners.Response{}, c.outOfStep(fmt.Errorf("%w: unsolicited line %s (it arrived while no request was outstanding)", runners.ErrProtocol, quote(lr.line)))
	}
	resp, err := c.codec.Decode(lr.line)
	if err != nil {
		return runners.Response{}, err
	}
	if resp.ID != "" || c.echoed {
		if resp.ID != id {
			return runners.Response{}, c.outOfStep(fmt.Errorf("%w: the response to request id %q carries id %q: %s", runners.ErrProtocol, id, resp.ID, quote(lr.line)))
		}
		c.echoed, c.verified = true, idx
	}
	return resp, nil
}

// Pipelined reports whether the connection has had several requests in
// flight (DoAll, once the system echoed request ids).
func (c *Conn) Pipelined() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pipelined
}

// DoAll sends reqs as the connection's next runs and calls yield with each
// answer in request order (i indexes reqs); it stops at the first error,
// after yielding it, or when yield returns false (the connection is then
// broken if requests were left in flight). timeout gives the timeout of a
// run (by its 0-based run index; 0 = none) or an error that fails the run.
//
// Requests go one at a time (as Do) until an answer has echoed its request
// id. From then on up to window requests are in flight: a writer sends them
// ahead while the answers are read in order, and every answer must echo the
// id of the request it is paired with (a mismatch is an
// *runners.OutOfStepError since that run: all earlier runs were checked),
// so no line is attributed to another run. A system that echoes no ids is
// never pipelined.
//
// A pipelined run's timeout and Response.Latency count its service time,
// from the later of its request's write and the previous answer's read to
// its answer's read; the wait before that is Response.Queue.
func (c *Conn) DoAll(ctx context.Context, reqs []runners.Request, window int, timeout func(run int) (time.Duration, error), yield func(i int, resp runners.Response, err error) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := 0
	for ; i < len(reqs) && (window <= 1 || !c.echoed || c.broken != nil); i++ {
		to, err := timeout(c.run)
		var resp runners.Response
		if err != nil {
			resp, err = c.fail(c.run, err)
			c.run++
		} else {
			resp, err = c.do(ctx, reqs[i], to)
		}
		if !yield(i, resp, err) || err != nil {
			return
		}
	}
	if i < len(reqs) {
		c.pipeline(ctx, reqs[i:], i, window, timeout, yield)
	}
}

// maxWriteBatch bounds the bytes of requests a pipelined session writes at once.
const maxWriteBatch = 256 << 10

// pipeline is DoAll once ids are echoed: reqs[k] is reqs[off+k] of DoAll.
func (c *Conn) pipeline(ctx context.Context, reqs []runners.Request, off, window int, timeout func(run int) (time.Duration, error), yield func(i int, resp runners.Response, err error) bool) {
	c.pipelined = true
	base := c.run
	n := len(reqs)
	ids := make([]string, n)
	for k := range reqs {
		ids[k] = reqs[k].ID
		if ids[k] == "" {
			ids[k] = "r" + strconv.Itoa(base+k)
		}
	}
	slots := make(chan struct{}, window) // one per request in flight
	quit := make(chan struct{})
	werr := make(chan error, 1)
	sentAt := make([]time.Time, n) // guarded by cmu
	var sent int                   // requests written, guarded by cmu
	go func() {
		// Requests that fit in the window go out in one write (up to
		// maxWriteBatch bytes): fewer system calls, and one message on the
		// engine's attach stream.
		var buf []byte
		for k := 0; k < n; {
			select {
			case slots <- struct{}{}:
			case <-quit:
				return
			}
			buf = buf[:0]
			end := k
			for {
				req := reqs[end]
				req.ID = ids[end]
				b, err := c.codec.Encode(req)
				if err != nil {
					werr <- fmt.Errorf("%w: encode request: %v", runners.ErrProtocol, err)
					return
				}
				buf = append(append(buf, b...), '\n')
				end++
				if end == n || len(buf) >= maxWriteBatch {
					break
				}
				select {
				case slots <- struct{}{}:
					continue
				default:
				}
				break
			}
			c.cmu.Lock()
			now := c.Now()
			for j := k; j < end; j++ {
				sentAt[j] = now
			}
			c.sent += end - k
			sent += end - k
			c.cmu.Unlock()
			if _, err := c.w.Write(buf); err != nil {
				werr <- fmt.Errorf("%w: writing the request failed: %v%s", runners.ErrCrashed, err, c.eofDetail())
				return
			}
			k = end
		}
	}()
	done := 0
	defer func() {
		close(quit)
		c.cmu.Lock()
		c.run = base + max(sent, done)
		c.cmu.Unlock()
		if done < n && c.broken == nil {
			c.broken = &runners.RunError{Run: base + done, Err: errors.New("a batch stopped with requests in flight")}
		}
	}()
	prev := c.Now() // the previous answer's read
	// A failed write means the system stopped reading, but the answers it
	// wrote before are still to be read: the write error fails the first
	// run whose request was never written, and the runs before it keep
	// their answers (or fail as the output ends).
	wch := (<-chan error)(werr)
	var writeErr error
	for ; done < n; done++ {
		idx := base + done
		fail := func(err error) {
			_, re := c.fail(idx, err)
			yield(off+done, runners.Response{}, re)
		}
		unsent := func() bool {
			c.cmu.Lock()
			defer c.cmu.Unlock()
			return done >= sent
		}
		if writeErr != nil && unsent() {
			fail(writeErr)
			return
		}
		to, err := timeout(idx)
		if err != nil {
			fail(err)
			return
		}
		var timer <-chan time.Time
		var t *time.Timer
		if to > 0 {
			t = time.NewTimer(to)
			timer = t.C
		}
		var lr lineResult
		var ok bool
	wait:
		select {
		case lr, ok = <-c.lines:
			if t != nil {
				t.Stop()
			}
		case err := <-wch:
			wch, writeErr = nil, err
			if unsent() {
				fail(err)
				return
			}
			goto wait
		case <-timer:
			fail(fmt.Errorf("%w: no response within %s", runners.ErrTimeout, to))
			return
		case <-ctx.Done():
			fail(ctx.Err())
			return
		}
		now := c.Now()
		resp, err := c.answer(idx, ids[done], lr, ok)
		if err != nil {
			fail(err)
			return
		}
		c.cmu.Lock()
		wrote := sentAt[done]
		c.cmu.Unlock()
		begin := prev
		if wrote.After(begin) {
			begin = wrote
		}
		resp.Latency, resp.Queue = now.Sub(begin), begin.Sub(wrote)
		prev = now
		<-slots
		if !yield(off+done, resp, nil) {
			done++
			return
		}
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
// with the comma that joins it to its neighbours. It scans the line in
// place (jsonScan: no decoder, no copy of any value) and allocates only the
// result; a line it cannot scan is returned as is.
func withoutID(raw []byte) []byte {
	if !bytes.Contains(raw, []byte(`"id"`)) {
		return raw
	}
	sc := jsonScan{b: raw}
	if sc.ws(); !sc.byte('{') {
		return raw
	}
	for first := true; ; first = false {
		// The cut starts past the white space after '{' or after the
		// previous value: at the comma before a later member.
		sc.ws()
		start := sc.i
		if sc.peek() == '}' || !first && !sc.byte(',') {
			return raw
		}
		sc.ws()
		k0 := sc.i
		if !sc.str() {
			return raw
		}
		key := raw[k0:sc.i]
		if sc.ws(); !sc.byte(':') {
			return raw
		}
		if sc.ws(); !sc.value() {
			return raw
		}
		end := sc.i
		if !isIDKey(key) {
			continue
		}
		if first { // drop the comma after it instead of the one before
			j := end
			for j < len(raw) && (raw[j] == ' ' || raw[j] == '\t' || raw[j] == '\r') {
				j++
			}
			if j < len(raw) && raw[j] == ',' {
				end = j + 1
			}
		}
		out := make([]byte, 0, len(raw)-(end-start))
		return append(append(out, raw[:start]...), raw[end:]...)
	}
}

// isIDKey reports whether the quoted key is "id" (escapes decoded).
func isIDKey(key []byte) bool {
	if !bytes.ContainsRune(key, '\\') {
		return string(key) == `"id"`
	}
	var k string
	return json.Unmarshal(key, &k) == nil && k == "id"
}

// jsonScan steps over JSON text b from offset i without decoding it.
type jsonScan struct {
	b []byte
	i int
}

func (s *jsonScan) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// ws skips white space.
func (s *jsonScan) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

// byte steps over c if it is next.
func (s *jsonScan) byte(c byte) bool {
	if s.peek() != c {
		return false
	}
	s.i++
	return true
}

// str steps over a string (its escapes included).
func (s *jsonScan) str() bool {
	if !s.byte('"') {
		return false
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
		case '"':
			s.i++
			return true
		default:
			s.i++
		}
	}
	return false
}

// value steps over one value: a string, an object or array (nesting
// counted, strings inside skipped), or a literal or number.
func (s *jsonScan) value() bool {
	switch c := s.peek(); c {
	case '"':
		return s.str()
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if !s.str() {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					s.i++
					return true
				}
			}
			s.i++
		}
		return false
	default:
		i0 := s.i
		for s.i < len(s.b) && !bytes.ContainsRune([]byte(" \t\r\n,}]"), rune(s.b[s.i])) {
			s.i++
		}
		return s.i > i0
	}
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
	resp := runners.Response{Raw: line, ID: rawString(wire.ID)} // line is handed over (runners.Codec)
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
