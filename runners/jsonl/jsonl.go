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
	"sync"
	"time"

	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/runners"
)

// MaxLine is the longest response line accepted, in bytes.
const MaxLine = 16 << 20

// Conn is a jsonl-stdio connection to one running system. It is not safe for
// concurrent use: one run at a time.
type Conn struct {
	codec runners.Codec
	w     io.Writer
	lines chan lineResult
	// OnEOF, when set, explains why the output ended (exit status, stderr
	// tail); its error is wrapped into the ErrCrashed message.
	OnEOF func() error
	// Now is the clock used for latencies (default time.Now).
	Now    func() time.Time
	run    int
	broken error
	mu     sync.Mutex
}

type lineResult struct {
	line []byte
	err  error
}

// New starts reading response lines from r; requests are encoded by codec
// (a Stdio codec) and written to w, one per line.
func New(codec runners.Codec, w io.Writer, r io.Reader) *Conn {
	c := &Conn{codec: codec, w: w, lines: make(chan lineResult, 1), Now: time.Now}
	go c.readLoop(r)
	return c
}

func (c *Conn) readLoop(r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br)
		if err != nil {
			c.lines <- lineResult{err: err}
			close(c.lines)
			return
		}
		c.lines <- lineResult{line: line}
	}
}

func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, isPrefix, err := br.ReadLine()
		if err != nil {
			if err == io.EOF && len(buf) > 0 {
				return buf, nil
			}
			return nil, err
		}
		buf = append(buf, chunk...)
		if len(buf) > MaxLine {
			return nil, fmt.Errorf("response line longer than %d bytes", MaxLine)
		}
		if !isPrefix {
			return buf, nil
		}
	}
}

// Runs returns how many runs were sent.
func (c *Conn) Runs() int { return c.run }

// Do sends one request and reads its response within timeout (0 = no
// timeout beyond ctx). After a timeout or a protocol error the connection is
// broken: later runs fail at once, since responses could be out of step.
func (c *Conn) Do(ctx context.Context, req runners.Request, timeout time.Duration) (runners.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	idx := c.run
	c.run++
	fail := func(err error) (runners.Response, error) {
		re := &runners.RunError{Run: idx, Err: err}
		if !errors.Is(err, context.Canceled) {
			c.broken = re
		}
		return runners.Response{}, re
	}
	if c.broken != nil {
		return runners.Response{}, &runners.RunError{Run: idx, Err: fmt.Errorf("session unusable after an earlier failure: %w", c.broken)}
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
			if !ok || lr.err == io.EOF || errors.Is(lr.err, io.ErrClosedPipe) || errors.Is(lr.err, os.ErrClosed) {
				return fail(fmt.Errorf("%w: the system closed its output%s", runners.ErrCrashed, c.eofDetail()))
			}
			return fail(fmt.Errorf("%w: reading the response: %v%s", runners.ErrProtocol, lr.err, c.eofDetail()))
		}
		resp, err := c.codec.Decode(lr.line)
		if err != nil {
			return fail(err)
		}
		resp.Latency = c.Now().Sub(start)
		return resp, nil
	case <-timer:
		return fail(fmt.Errorf("%w: no response within %s", runners.ErrTimeout, timeout))
	case <-ctx.Done():
		return fail(ctx.Err())
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
// {"input": <the input JSON>, "params": {…}}; responses are JSON objects
// whose label and text are strings or null and whose score is a number or
// null. The exact match compares the raw line.
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

// Canonical is the raw line.
func (Codec) Canonical(raw []byte) []byte { return raw }

// Decode parses one response line. {"error": "…"} and anything that is not
// such an object wrap runners.ErrProtocol.
func (Codec) Decode(line []byte) (runners.Response, error) { return Decode(line) }

// Decode parses one response line: a JSON object whose label and text are
// strings or null and whose score is a number or null. {"error": "…"} and
// anything that is not such an object wrap runners.ErrProtocol.
func Decode(line []byte) (runners.Response, error) {
	trimmed := bytes.TrimSpace(line)
	var wire struct {
		output.Output
		Error json.RawMessage `json:"error"`
	}
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return runners.Response{}, fmt.Errorf("%w: response is not a JSON object: %s", runners.ErrProtocol, quote(trimmed))
	}
	if err := json.Unmarshal(trimmed, &wire); err != nil {
		return runners.Response{}, fmt.Errorf("%w: invalid response %s: %v", runners.ErrProtocol, quote(trimmed), err)
	}
	if len(wire.Error) > 0 && string(wire.Error) != "null" {
		return runners.Response{}, fmt.Errorf("%w: the system answered an error: %s", runners.ErrProtocol, quote(wire.Error))
	}
	return runners.Response{Output: wire.Output, Raw: bytes.Clone(line)}, nil
}

func quote(b []byte) string {
	if len(b) > 200 {
		return fmt.Sprintf("%q…", b[:200])
	}
	return fmt.Sprintf("%q", b)
}
