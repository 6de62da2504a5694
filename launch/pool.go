package launch

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/reprise-dev/reprise/runners"
)

// SharedSessionTimeout bounds a shared session (PoolOptions.Share): a week,
// since it serves a whole night, not one record.
const SharedSessionTimeout = 7 * 24 * time.Hour

// ErrPoolClosed: Acquire after Close, or a run on a session whose pool
// discarded it.
var ErrPoolClosed = errors.New("the session was closed by its pool")

// PoolOptions configure a Pool.
type PoolOptions struct {
	// Runner is the runner to start sessions with; the caller keeps it
	// (the pool does not close it). Without it, NewRunner makes one.
	Runner Runner
	// NewRunner creates the runner on first need (a record that fails its
	// integrity checks needs no engine). The pool closes it in Close when
	// it has a Close() error method.
	NewRunner func(ctx context.Context) (Runner, error)
	// Share lends one session per system to every record that asks for it
	// (a night); otherwise every Acquire starts a session of its own,
	// closed on Release.
	Share bool
	// SharedLabels label a shared session's container (it serves many
	// records, so it carries none of theirs).
	SharedLabels map[string]string
}

// Pool is the one owner of session lifecycles: it creates the runner, starts
// pinned, verified sessions (Start), lends them and closes them. Callers
// (replay batches, nights, eval runs, capture) acquire a session, hand it
// to the code that runs requests on it, and release it; the code that runs
// requests never starts or closes one.
//
// A sharing pool keeps one session per system (the system id, hardware
// class, protocol, HTTP settings and session options: records that differ
// in any of them get sessions of their own) for any number of records. A
// lent session counts its runs from the loan's first (an OutOfStepError
// names the borrower's run), does not offer runners.Batcher or
// runners.Finisher (finishing closes the system's input: the pool does it
// when the session retires), and outlives its borrowers: Retire or Close
// finishes and closes it, Release(…, true) discards a session that may be
// broken so the next record starts a fresh one. A Pool is safe for
// concurrent use by borrowers of different systems.
type Pool struct {
	blobs Blobs
	opts  PoolOptions

	runnerOnce sync.Once
	runner     Runner
	runnerErr  error

	mu     sync.Mutex
	shared map[string]*shared
	closed bool
}

// shared is one system's session of a sharing pool.
type shared struct {
	mu   sync.Mutex
	sess *Session // nil until started, and after a discard
	runs int      // requests sent since it started
}

// NewPool returns a pool that starts sessions with the model and config
// copied out of blobs (verified).
func NewPool(blobs Blobs, opts PoolOptions) *Pool {
	return &Pool{blobs: blobs, opts: opts, shared: map[string]*shared{}}
}

// Runner returns the pool's runner, creating it on first need.
func (p *Pool) Runner(ctx context.Context) (Runner, error) {
	p.runnerOnce.Do(func() {
		if p.opts.Runner != nil {
			p.runner = p.opts.Runner
			return
		}
		if p.opts.NewRunner == nil {
			p.runnerErr = errors.New("launch: the pool has no runner")
			return
		}
		p.runner, p.runnerErr = p.opts.NewRunner(ctx)
	})
	return p.runner, p.runnerErr
}

// Acquire lends a session of t started with opts: a new one, or, in a
// sharing pool, the system's running session. The hardware class is
// checked on every loan (Session.HardwareOverride says whether this
// borrower's class was overridden). Errors are Start's and the runner's.
func (p *Pool) Acquire(ctx context.Context, t Target, opts Options) (*Session, error) {
	runner, err := p.Runner(ctx)
	if err != nil {
		return nil, err
	}
	if !p.opts.Share {
		return Start(ctx, p.blobs, t, runner, opts)
	}
	override, err := checkHardware(t, opts)
	if err != nil {
		return nil, err
	}
	e, err := p.entry(t, opts)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sess == nil {
		own := opts
		own.SessionTimeout = SharedSessionTimeout
		t.Labels = p.opts.SharedLabels
		s, err := Start(ctx, p.blobs, t, runner, own)
		if err != nil {
			return nil, err
		}
		e.sess, e.runs = s, 0
	}
	return &Session{Session: &lent{e: e, base: e.runs}, Codec: e.sess.Codec, HardwareOverride: override, pool: p, from: e}, nil
}

// entry is the shared slot of t and opts, made on first need.
func (p *Pool) entry(t Target, opts Options) (*shared, error) {
	b, err := json.Marshal(struct {
		ID, Class, Protocol string
		HTTP                runners.HTTPConfig
		Env                 map[string]string
		Limits              runners.Limits
		Start, Run          time.Duration
		MaxResponse         int64
		Concurrency, Window int
		GPUs                string
	}{t.System.ID.String(), t.HardwareClass, t.Protocol, t.HTTP, opts.Env, opts.Limits, opts.StartTimeout, opts.RunTimeout,
		opts.MaxResponseBytes, opts.Concurrency, opts.Window, opts.GPUs})
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrPoolClosed
	}
	e := p.shared[string(b)]
	if e == nil {
		e = &shared{}
		p.shared[string(b)] = e
	}
	return e, nil
}

// Release ends a loan. A session of its own (not shared) is closed; a
// shared one is kept for the next borrower, unless broken (the run failed:
// the session may be dead or out of step), when it is finished and closed
// so the next borrower starts a fresh one.
func (p *Pool) Release(ctx context.Context, s *Session, broken bool) error {
	if s == nil {
		return nil
	}
	if s.from == nil {
		return s.Close(ctx)
	}
	if !broken {
		return nil
	}
	return s.from.retire(ctx)
}

// Retire finishes and closes the session s was lent from (shared) or s
// itself; an error from Finish says the system printed something after its
// last run.
func (p *Pool) Retire(ctx context.Context, s *Session) error {
	if s == nil {
		return nil
	}
	if s.from == nil {
		return s.Close(ctx)
	}
	return s.from.retire(ctx)
}

// Close retires every shared session and closes the runner the pool
// created; it returns the first error. The pool lends nothing after it.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	entries := make([]*shared, 0, len(p.shared))
	for _, e := range p.shared {
		entries = append(entries, e)
	}
	p.mu.Unlock()
	var errs []error
	for _, e := range entries {
		errs = append(errs, e.retire(ctx))
	}
	if c, ok := p.runner.(interface{ Close() error }); ok && p.opts.Runner == nil {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// retire finishes and closes the shared session, if started.
func (e *shared) retire(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sess == nil {
		return nil
	}
	var err error
	if f, ok := e.sess.Session.(runners.Finisher); ok {
		err = f.Finish(context.WithoutCancel(ctx))
	}
	if cerr := e.sess.Close(ctx); err == nil {
		err = cerr
	}
	e.sess = nil
	return err
}

// lent is a borrower's view of a shared session: it runs requests one at a
// time and numbers them from the loan's first.
type lent struct {
	e    *shared
	base int
}

func (l *lent) Run(ctx context.Context, req runners.Request) (runners.Response, error) {
	l.e.mu.Lock()
	s := l.e.sess
	l.e.mu.Unlock()
	if s == nil {
		return runners.Response{}, ErrPoolClosed
	}
	resp, err := s.Run(ctx, req)
	l.e.mu.Lock()
	l.e.runs++
	l.e.mu.Unlock()
	var oos *runners.OutOfStepError
	if errors.As(err, &oos) {
		// The session counts runs from its start; the borrower from its
		// loan's first.
		oos.Since -= l.base
	}
	return resp, err
}

func (l *lent) Info() runners.Info {
	l.e.mu.Lock()
	defer l.e.mu.Unlock()
	if l.e.sess == nil {
		return runners.Info{}
	}
	return l.e.sess.Info()
}

// Close is the pool's (Release, Retire): a borrower does not close a lent session.
func (l *lent) Close(context.Context) error { return nil }
