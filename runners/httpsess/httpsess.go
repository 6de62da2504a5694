// Package httpsess carries an HTTP codec's requests to a running server:
// Session answers runs over one keep-alive http.Client with the per-run
// timeouts of a runners.Budget, and WaitReady polls the codec's readiness
// (its runners.ReadyProber, else its Health path). Runners of HTTP systems
// (docker, endpoint) share it.
//
// Until the server has answered a run with 2xx, an answer 503 (Service
// Unavailable), or one the codec's NotReadyer calls "not ready" (openai:
// 404 "model … not found" from a server that loads its model lazily), is
// "not ready yet", not a run error: the run is sent again, with backoff,
// until the start timeout passes (then the run wraps runners.ErrTimeout,
// names --start-timeout and quotes what the server last answered). After
// the first answer the session asks a ModelDigester codec once for the
// served model's digest (Info.ModelDigest).
//
// A non-2xx status (a redirect is not followed: the server under test
// answers, never another URL), a body over the limit or one the codec cannot decode
// is a run error (*runners.RunError wrapping runners.ErrProtocol) naming the
// status and the first bytes of the body; a run past its timeout wraps
// runners.ErrTimeout, a refused or reset connection runners.ErrCrashed.
// None of them is ever an output. Each request stands alone, so a failed
// run does not break the session: the next run is tried.
package httpsess

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reprise-dev/reprise/runners"
)

// NewClient returns a keep-alive client that never uses a proxy and never
// follows a redirect (a replay talks only to the server under test; a
// redirect is its answer, as for runs).
func NewClient() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        16,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}

// Session answers runs against one HTTP server. Run and RunBatch are not
// safe for concurrent use; RunBatch keeps Spec.Concurrency requests in
// flight.
type Session struct {
	codec  runners.HTTPCodec
	base   string
	client *http.Client
	// rt carries the runs: the client's transport, without the client's
	// redirect handling (a run's answer is the server's, a redirect
	// included, never another URL's).
	rt     http.RoundTripper
	budget runners.Budget
	max    int64
	run    int
	info   runners.Info
	// Detail, when set, adds context to a failed run (e.g. the container's
	// state and stderr tail). crashed is true for a refused, reset or
	// closed connection (not a timeout): the server may be exiting, and
	// Detail may wait briefly for the exit to say how it ended.
	Detail func(crashed bool) string
	// OnClose, when set, releases what the runner holds (container,
	// network); Close calls it once.
	OnClose func(ctx context.Context) error
	// Now is the clock (default time.Now).
	Now     func() time.Time
	closed  bool
	err     error
	lastURL atomic.Pointer[parsedURL]
	// warm is set once the server answered a run with 2xx: from then on
	// an answer 503 is a run error, not "not ready yet".
	warm atomic.Bool
	// notReady is the time run 0 waited on answers 503 before the server
	// was warm (ns), added to Info.Startup.
	notReady atomic.Int64
	// watch times sequential runs out (RunBatch's concurrent exchanges
	// each take their own timeout).
	watch watchdog
	// asked is set once the served model's digest was asked for
	// (ModelDigester).
	asked bool
}

// watchdog is the run timeout of sequential runs. A context.WithTimeout
// per run costs a timer's creation and, often, a wake-up of the runtime's
// poller to move its next deadline earlier: microseconds that add up
// against a server answering in 100 µs. The watchdog keeps one context and
// one timer: a run sets its deadline, the timer fires at or after the
// deadline it was set for, and when a later run has moved the deadline on
// it sleeps again until then. Back-to-back runs touch the timer once per
// timeout, not once per run.
type watchdog struct {
	mu       sync.Mutex
	parent   context.Context
	ctx      context.Context
	cancel   context.CancelFunc
	deadline time.Time // of the run in flight; zero between runs
	timer    *time.Timer
	timerAt  time.Time // when the timer fires; zero when it is not set
}

// arm returns the context of a run of parent that must end within
// timeout; disarm ends it. The watchdog keeps the real time, as its timer
// does (Session.Now may be a test's clock).
func (w *watchdog) arm(parent context.Context, timeout time.Duration) context.Context {
	w.mu.Lock()
	defer w.mu.Unlock()
	// == panics on a context whose dynamic type is not comparable (a
	// struct holding a map): such a parent gets a fresh context each run.
	same := w.ctx != nil && reflect.TypeOf(parent).Comparable() && w.parent == parent
	if !same || w.ctx.Err() != nil {
		if w.cancel != nil {
			w.cancel()
		}
		w.parent = parent
		w.ctx, w.cancel = context.WithCancel(parent)
	}
	w.deadline = time.Now().Add(timeout)
	switch {
	case w.timer == nil:
		w.timer = time.AfterFunc(timeout, w.fire)
		w.timerAt = w.deadline
	case w.timerAt.IsZero() || w.timerAt.After(w.deadline):
		w.timer.Reset(timeout)
		w.timerAt = w.deadline
	}
	return w.ctx
}

// fire cancels the run in flight if its deadline has passed, and
// otherwise waits for its deadline.
func (w *watchdog) fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timerAt = time.Time{}
	if w.deadline.IsZero() {
		return
	}
	if left := time.Until(w.deadline); left > 0 {
		w.timer.Reset(left)
		w.timerAt = w.deadline
		return
	}
	w.cancel()
}

// disarm ends the run in flight: the timer may still fire, and finds no run.
func (w *watchdog) disarm() {
	w.mu.Lock()
	w.deadline = time.Time{}
	w.mu.Unlock()
}

// release stops the timer and cancels the context (a later arm sets the
// timer again).
func (w *watchdog) release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
		w.timerAt = time.Time{}
	}
	if w.cancel != nil {
		w.cancel()
	}
}

var (
	_ runners.Session = (*Session)(nil)
	_ runners.Batcher = (*Session)(nil)
)

// New returns a session of the server at base (e.g. "http://10.0.0.2:8000",
// user info for basic auth allowed) speaking codec, with the budget and
// response bound of spec. Info().URL is base with its password as "***".
func New(codec runners.HTTPCodec, base string, client *http.Client, budget runners.Budget, spec runners.Spec, info runners.Info) *Session {
	if client == nil {
		client = NewClient()
	}
	limit := spec.MaxResponseBytes
	if limit <= 0 {
		limit = runners.DefaultMaxResponseBytes
	}
	info.URL = runners.RedactURL(base) // never a password in a report
	info.Concurrency = max(spec.Concurrency, 1)
	if t, ok := client.Transport.(*http.Transport); ok && t.MaxIdleConnsPerHost < info.Concurrency {
		t.MaxIdleConnsPerHost = info.Concurrency
		t.MaxIdleConns = max(t.MaxIdleConns, info.Concurrency)
	}
	rt := client.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &Session{codec: codec, base: strings.TrimRight(base, "/"), client: client, rt: rt, budget: budget, max: limit, info: info, Now: time.Now}
}

// Info describes the session.
func (s *Session) Info() runners.Info { return s.info }

// SetServer records what the server says about itself.
func (s *Session) SetServer(desc string) { s.info.Server = desc }

// Runs returns how many runs were sent.
func (s *Session) Runs() int { return s.run }

// Run sends one request and decodes its answer within the run timeout (the
// server is already ready, so every run, run 0 included, gets Budget.Run).
func (s *Session) Run(ctx context.Context, req runners.Request) (runners.Response, error) {
	idx := s.run
	s.run++
	resp, err := s.exchange(ctx, idx, req, &s.watch)
	return s.account(ctx, idx, resp, err)
}

// RunBatch sends reqs with up to Info().Concurrency requests at once (each
// its own HTTP exchange, so every answer belongs to the request it answers)
// and yields the answers in request order (runners.Batcher). Answers that
// come back early wait for the ones before them; no more than 4 ×
// concurrency requests are sent ahead of the oldest unyielded one, so
// memory stays bounded. At the first error, or when yield returns false,
// the requests in flight are cancelled.
func (s *Session) RunBatch(ctx context.Context, reqs []runners.Request, yield func(i int, resp runners.Response, err error) bool) {
	c := max(s.info.Concurrency, 1)
	if c == 1 {
		for i, req := range reqs {
			resp, err := s.Run(ctx, req)
			if !yield(i, resp, err) || err != nil {
				return
			}
		}
		return
	}
	type result struct {
		resp runners.Response
		err  error
	}
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	base := s.run
	s.run += len(reqs)
	results := make([]chan result, len(reqs))
	for i := range results {
		results[i] = make(chan result, 1)
	}
	slots := make(chan struct{}, c)   // requests in flight
	ahead := make(chan struct{}, 4*c) // requests sent and not yet yielded
	go func() {
		for i, req := range reqs {
			select {
			case ahead <- struct{}{}:
			case <-bctx.Done():
				return
			}
			select {
			case slots <- struct{}{}:
			case <-bctx.Done():
				return
			}
			go func() {
				resp, err := s.exchange(bctx, base+i, req, nil)
				<-slots
				results[i] <- result{resp, err}
			}()
		}
	}()
	for i := range reqs {
		var r result
		sent := true
		select {
		case r = <-results[i]:
		case <-bctx.Done():
			// The sender stops at a cancelled context and may never
			// send request i: its run ends with the context's error.
			select {
			case r = <-results[i]:
			default:
				sent = false
				r = result{err: &runners.RunError{Run: base + i, Err: ctx.Err()}}
			}
		}
		if sent {
			<-ahead
		}
		resp, err := s.account(ctx, base+i, r.resp, r.err)
		if !yield(i, resp, err) || err != nil {
			return
		}
	}
}

// exchange is one run's HTTP exchange, timed out by watch or, when it is
// nil, by a timeout of its own: safe for concurrent use with a nil watch.
// Until the server has answered a run with 2xx, an answer that means "not
// ready yet" (notReadyAnswer: 503, a server that lists its model while still
// loading it; the codec's NotReadyer) is sent again, with backoff, until
// the start timeout passes (runners.Budget.StartDeadline); then it wraps
// runners.ErrTimeout, names --start-timeout and quotes the last answer.
func (s *Session) exchange(ctx context.Context, idx int, req runners.Request, watch *watchdog) (runners.Response, error) {
	fail := func(err error) (runners.Response, error) {
		return runners.Response{}, &runners.RunError{Run: idx, Err: err}
	}
	body, err := s.codec.Encode(req)
	if err != nil {
		return fail(fmt.Errorf("%w: encode request: %v", runners.ErrProtocol, err))
	}
	path := s.codec.Path(req)
	delay := 50 * time.Millisecond
	var waited time.Duration
	for {
		status, raw, lat, err := s.attempt(ctx, idx, path, body, watch)
		if err != nil {
			return fail(err)
		}
		if !s.warm.Load() && s.notReadyAnswer(status, raw) {
			left := s.budget.StartDeadline().Sub(s.Now())
			if left <= 0 {
				return fail(fmt.Errorf("%w: POST %s still answered %d %s (not ready) when the start timeout %s passed (raise it with --start-timeout): %s", runners.ErrTimeout, path, status, http.StatusText(status), s.budget.Start, runners.Quote(raw)))
			}
			d := min(delay, left)
			select {
			case <-ctx.Done():
				return fail(ctx.Err())
			case <-time.After(d):
			}
			waited += d
			delay = min(delay*2, time.Second)
			continue
		}
		if status/100 != 2 {
			return fail(fmt.Errorf("%w: POST %s answered %d %s: %s", runners.ErrProtocol, path, status, http.StatusText(status), runners.Quote(raw)))
		}
		s.warm.Store(true)
		resp, err := s.codec.Decode(raw)
		if err != nil {
			return fail(err)
		}
		resp.Latency = lat
		if idx == 0 && waited > 0 {
			s.notReady.Add(int64(waited))
		}
		return resp, nil
	}
}

// NotReadyer is implemented by HTTP codecs that know more answers meaning
// "not ready yet" than 503 (openai: 404 "model … not found", a model
// loaded lazily or not yet registered). NotReady is asked only until the
// server has answered a run with 2xx.
type NotReadyer interface {
	NotReady(status int, body []byte) bool
}

// ModelDigester is implemented by HTTP codecs that can ask a running
// server for the digest of the model it serves (openai: a digest of its
// GET /v1/models entry, or Ollama's GET /api/tags). model is the name the
// server's first answer carried ("" when none); from names where the
// digest came from. The session asks once, after its first answer, and
// keeps the result in Info.ModelDigest and Info.ModelDigestFrom.
type ModelDigester interface {
	ModelDigest(ctx context.Context, c *http.Client, base, model string) (digest, from string)
}

// notReadyAnswer says whether an answer means "not ready yet": the codec's
// NotReady when it has one, else 503 Service Unavailable.
func (s *Session) notReadyAnswer(status int, body []byte) bool {
	if n, ok := s.codec.(NotReadyer); ok {
		return n.NotReady(status, body)
	}
	return status == http.StatusServiceUnavailable
}

// attempt is one POST of a run: the answer's status and body, and the
// time from sending to reading it.
func (s *Session) attempt(ctx context.Context, idx int, path string, body []byte, watch *watchdog) (int, []byte, time.Duration, error) {
	timeout, err := s.budget.Next(max(idx, 1), s.Now())
	if err != nil {
		return 0, nil, 0, err
	}
	var rctx context.Context
	if watch != nil {
		rctx = watch.arm(ctx, timeout)
		defer watch.disarm()
	} else {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	hreq, err := s.post(rctx, path, body)
	if err != nil {
		return 0, nil, 0, err
	}
	start := s.Now()
	hresp, err := s.rt.RoundTrip(hreq)
	if err != nil {
		return 0, nil, 0, s.transportErr(ctx, rctx, err, path, timeout)
	}
	raw, err := io.ReadAll(io.LimitReader(hresp.Body, s.max+1))
	hresp.Body.Close()
	if err != nil {
		return 0, nil, 0, s.transportErr(ctx, rctx, err, path, timeout)
	}
	lat := s.Now().Sub(start)
	if int64(len(raw)) > s.max {
		return 0, nil, 0, fmt.Errorf("%w: a response is longer than the limit of %d bytes (raise it with --max-response-size)", runners.ErrProtocol, s.max)
	}
	return hresp.StatusCode, raw, lat, nil
}

// post is the POST of body to path: http.NewRequestWithContext without
// parsing the URL again on every run (the path's URL is parsed once).
func (s *Session) post(ctx context.Context, path string, body []byte) (*http.Request, error) {
	var u *url.URL
	if p := s.lastURL.Load(); p != nil && p.path == path {
		u = p.url
	} else {
		var err error
		if u, err = url.Parse(s.base + path); err != nil {
			return nil, err
		}
		s.lastURL.Store(&parsedURL{path, u})
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	uc := *u // each request its own URL, as NewRequest gives
	req.URL, req.Host = &uc, strings.TrimSuffix(u.Host, ":")
	req.Header["Content-Type"] = []string{"application/json"}
	if u.User != nil { // as http.Client does for a URL with user info
		pw, _ := u.User.Password()
		req.SetBasicAuth(u.User.Username(), pw)
	}
	return req, nil
}

type parsedURL struct {
	path string
	url  *url.URL
}

// account records what a run's answer says of the server (fingerprints,
// served models, start-up; after the first answer, the served model's
// digest when the codec can ask for it); runs are accounted one at a
// time, in order.
func (s *Session) account(ctx context.Context, idx int, resp runners.Response, err error) (runners.Response, error) {
	if err != nil {
		return resp, err
	}
	if f := resp.Fingerprint; f != "" && !slices.Contains(s.info.Fingerprints, f) {
		s.info.Fingerprints = append(s.info.Fingerprints, f)
	}
	if m := resp.Model; m != "" && !slices.Contains(s.info.ServedModels, m) {
		s.info.ServedModels = append(s.info.ServedModels, m)
	}
	if d, ok := s.codec.(ModelDigester); ok && !s.asked {
		s.asked = true
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		s.info.ModelDigest, s.info.ModelDigestFrom = d.ModelDigest(dctx, s.client, s.base, resp.Model)
		cancel()
	}
	if idx == 0 {
		// Start-up is run 0's answer (endpoint) or the time to readiness
		// (docker), and the time run 0 waited for a server not ready yet.
		if s.info.Startup == 0 {
			s.info.Startup = resp.Latency
		}
		s.info.Startup += time.Duration(s.notReady.Swap(0))
	}
	return resp, nil
}

func (s *Session) transportErr(ctx, rctx context.Context, err error, path string, timeout time.Duration) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	timedOut := rctx.Err() != nil || errors.Is(err, context.DeadlineExceeded)
	detail := ""
	if s.Detail != nil {
		if d := s.Detail(!timedOut); d != "" {
			detail = " (" + d + ")"
		}
	}
	if timedOut {
		return fmt.Errorf("%w: POST %s: no response within %s%s", runners.ErrTimeout, path, timeout, detail)
	}
	return fmt.Errorf("%w: POST %s: %v%s", runners.ErrCrashed, path, err, detail)
}

// Close releases the idle connections and calls OnClose once.
func (s *Session) Close(ctx context.Context) error {
	if s.closed {
		return s.err
	}
	s.closed = true
	s.watch.release()
	s.client.CloseIdleConnections()
	if s.OnClose != nil {
		s.err = s.OnClose(ctx)
	}
	return s.err
}

// WaitReady polls the server's readiness until it is ready, for at most
// timeout: the codec's Probe when it is a runners.ReadyProber, else
// GET base+codec.Health() answering 200. alive, when set, is asked between
// polls and ends the wait with its error (e.g. the container exited);
// detail adds the server's last log lines to the error. A wait that runs
// out wraps runners.ErrTimeout and names --start-timeout.
func WaitReady(ctx context.Context, client *http.Client, base string, codec runners.HTTPCodec, timeout time.Duration, alive func() error, detail func() string) error {
	deadline := time.Now().Add(timeout)
	base = strings.TrimRight(base, "/")
	probe := func(ctx context.Context) (bool, string) { return probeHealth(ctx, client, base, codec.Health()) }
	what := "GET " + codec.Health()
	if p, ok := codec.(runners.ReadyProber); ok {
		probe = func(ctx context.Context) (bool, string) { return p.Probe(ctx, client, base) }
		what = "the server"
	}
	delay := 20 * time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ready, last := probe(pctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if ready {
			return nil
		}
		if alive != nil {
			if err := alive(); err != nil {
				return withDetail(fmt.Errorf("%w: the server stopped before it was ready: %v", runners.ErrCrashed, err), detail)
			}
		}
		if time.Now().After(deadline) {
			return withDetail(fmt.Errorf("%w: %s not ready within the start timeout %s (raise it with --start-timeout); last answer: %s", runners.ErrTimeout, what, timeout, last), detail)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 500*time.Millisecond)
	}
}

// probeHealth is ready when GET base+path answers 200.
func probeHealth(ctx context.Context, client *http.Client, base, path string) (bool, string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	resp, err := client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return true, ""
	}
	return false, resp.Status + " " + runners.Quote(b)
}

func withDetail(err error, detail func() string) error {
	if detail == nil {
		return err
	}
	if d := detail(); d != "" {
		return fmt.Errorf("%w; %s", err, d)
	}
	return err
}
