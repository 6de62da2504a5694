package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// ServeOptions are the options of capture serve, as its flags give them.
type ServeOptions struct {
	System, Upstream, Listen, Log string
	// Input is full or hash-only, OnFull drop or block.
	Input, OnFull string
	InjectSeed    bool
	// SampleRates and Tiers are as ParseSampleRates and ParseTiers read them.
	SampleRates, Tiers          []string
	Queue, SegmentRows          int
	SegmentAge, UpstreamTimeout time.Duration
	DrainTimeout                time.Duration
	// MaxBody is the largest body recorded, in bytes.
	MaxBody int64
}

// Config checks the options and returns the proxy's config (without its
// target, writer and logger) and the writer's options. Its error names
// the first flag at fault: missing, out of range or malformed.
func (o *ServeOptions) Config() (Config, WriterOptions, error) {
	var c Config
	var wo WriterOptions
	switch {
	case o.System == "":
		return c, wo, fmt.Errorf("--system is required (a system file: reprise system create)")
	case o.Upstream == "":
		return c, wo, fmt.Errorf("--upstream is required")
	case o.Log == "":
		return c, wo, fmt.Errorf("--log is required (the directory of the decision log)")
	case o.Queue < 1 || o.SegmentRows < 1 || o.SegmentAge <= 0 || o.UpstreamTimeout <= 0 || o.DrainTimeout <= 0 || o.MaxBody < 1:
		return c, wo, fmt.Errorf("--queue, --segment-rows, --segment-age, --upstream-timeout, --drain-timeout and --max-body must be positive")
	}
	u, err := url.Parse(o.Upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, wo, fmt.Errorf("--upstream: want http(s)://HOST[:PORT], got %q", o.Upstream)
	}
	c.Upstream = u
	hashOnly, err := either("--input", o.Input, "full", "hash-only")
	if err != nil {
		return c, wo, err
	}
	if hashOnly {
		c.Input = InputHashOnly
	}
	block, err := either("--on-full", o.OnFull, "drop", "block")
	if err != nil {
		return c, wo, err
	}
	if block {
		wo.OnFull = Block
	}
	if c.SampleRate, c.SampleRates, err = ParseSampleRates(o.SampleRates); err != nil {
		return c, wo, err
	}
	if c.Tier, c.Tiers, err = ParseTiers(o.Tiers); err != nil {
		return c, wo, err
	}
	c.InjectSeed, c.MaxBody, c.UpstreamTimeout = o.InjectSeed, o.MaxBody, o.UpstreamTimeout
	wo.QueueSize, wo.SegmentRows, wo.SegmentAge = o.Queue, o.SegmentRows, o.SegmentAge
	return c, wo, nil
}

// either reports whether the value of flag is b rather than a; any other
// value is an error.
func either(flag, val, a, b string) (bool, error) {
	switch val {
	case a:
		return false, nil
	case b:
		return true, nil
	}
	return false, fmt.Errorf("%s: want %s or %s, got %q", flag, a, b, val)
}

// Serve serves h on ln until ctx is done, then stops taking connections
// and waits at most drain for the requests in flight. A server closed
// that way returns nil.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, drain time.Duration) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
		dctx, cancel := context.WithTimeout(context.Background(), drain)
		err = srv.Shutdown(dctx)
		cancel()
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Open opens the decision log writer in o.Log over blobs and the proxy of
// cfg writing to it, and listens on o.Listen. An error of the log folder or
// of the address is a *FlagError; on any error nothing stays open.
func (o *ServeOptions) Open(cfg Config, wo WriterOptions, blobs Blobs) (*Proxy, *Writer, net.Listener, error) {
	w, err := NewWriter(o.Log, blobs, wo)
	if err != nil {
		return nil, nil, nil, &FlagError{"--log", o.Log, err}
	}
	cfg.Writer = w
	p, err := New(cfg)
	if err != nil {
		w.Close()
		return nil, nil, nil, err
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		w.Close()
		return nil, nil, nil, &FlagError{"--listen", o.Listen, err}
	}
	return p, w, ln, nil
}

// FlagError is an option of capture serve that cannot be used: the flag,
// its value and why.
type FlagError struct {
	Flag, Value string
	Err         error
}

func (e *FlagError) Error() string { return fmt.Sprintf("%s %s: %v", e.Flag, e.Value, e.Err) }
