package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/capture/proxy"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay/nightly"
)

// captureServeOptions are the flags of `capture serve`.
type captureServeOptions struct {
	System, Upstream, Listen, Log string
	Input, OnFull                 string
	InjectSeed                    bool
	SampleRates, Tiers            []string
	Queue, SegmentRows            int
	SegmentAge, UpstreamTimeout   time.Duration
	DrainTimeout                  time.Duration
	MaxBody                       byteSize

	// ready, when set (tests), is called with the listening address.
	ready func(addr string)
}

func newCaptureCmd(g *globalOptions, s *streams) *cobra.Command {
	return newGroup("capture", "Capture decisions in production",
		help("capture"),
		newCaptureServeCmd(g, s))
}

func newCaptureServeCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &captureServeOptions{MaxBody: proxy.DefaultMaxBody}
	cmd := newCommand("serve --system SYS --upstream URL --listen ADDR --log DIR [flags]",
		"Run a recording proxy in front of an inference server",
		help("capture-serve"), cobra.NoArgs,
		func(ctx context.Context, _ []string) error { return runCaptureServe(ctx, g, s, o) })
	f := cmd.Flags()
	f.StringVar(&o.System, "system", "", "system file (reprise system create) or decision record of the upstream (required)")
	f.StringVar(&o.Upstream, "upstream", "", "base URL of the inference server, e.g. http://127.0.0.1:8000 (required)")
	f.StringVar(&o.Listen, "listen", "127.0.0.1:8090", "address to listen on")
	f.StringVar(&o.Log, "log", "", "directory of the decision log segments (required)")
	f.StringVar(&o.Input, "input", "full", "what is kept of request bytes: full or hash-only (the digest)")
	f.BoolVar(&o.InjectSeed, "inject-seed", false, "add a random seed to openai requests without one")
	f.StringVar(&o.OnFull, "on-full", "drop", "when the queue is full: drop the record (counted) or block the request")
	f.StringArrayVar(&o.SampleRates, "sample-rate", nil, "[PATH=|MODEL=]R: record a share R in [0, 1] of requests (repeatable; default 1)")
	f.StringArrayVar(&o.Tiers, "tier", nil, "[PATH=]full|output|hash: what is kept (repeatable; default full)")
	f.IntVar(&o.Queue, "queue", 4096, "records the queue holds")
	f.IntVar(&o.SegmentRows, "segment-rows", 10000, "most records of one segment")
	f.DurationVar(&o.SegmentAge, "segment-age", time.Minute, "most time a segment stays open")
	f.DurationVar(&o.UpstreamTimeout, "upstream-timeout", proxy.DefaultUpstreamTimeout, "wait for the upstream's response headers at most this long (then 502)")
	f.DurationVar(&o.DrainTimeout, "drain-timeout", 30*time.Second, "on SIGTERM, wait for requests in flight at most this long")
	f.Var(&o.MaxBody, "max-body", "largest request or response body recorded (larger ones pass through)")
	return cmd
}

// config checks the flags and returns the proxy's config (without the
// writer) and the writer's options.
func (o *captureServeOptions) config() (proxy.Config, proxy.WriterOptions, error) {
	var c proxy.Config
	var wo proxy.WriterOptions
	switch {
	case o.System == "":
		return c, wo, usageErrorf("--system is required (a system file: reprise system create)")
	case o.Upstream == "":
		return c, wo, usageErrorf("--upstream is required")
	case o.Log == "":
		return c, wo, usageErrorf("--log is required (the directory of the decision log)")
	case o.Queue < 1 || o.SegmentRows < 1 || o.SegmentAge <= 0 || o.UpstreamTimeout <= 0 || o.DrainTimeout <= 0 || o.MaxBody < 1:
		return c, wo, usageErrorf("--queue, --segment-rows, --segment-age, --upstream-timeout, --drain-timeout and --max-body must be positive")
	}
	u, err := url.Parse(o.Upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, wo, usageErrorf("--upstream: want http(s)://HOST[:PORT], got %q", o.Upstream)
	}
	c.Upstream = u
	switch o.Input {
	case "full":
	case "hash-only":
		c.Input = proxy.InputHashOnly
	default:
		return c, wo, usageErrorf("--input: want full or hash-only, got %q", o.Input)
	}
	switch o.OnFull {
	case "drop":
	case "block":
		wo.OnFull = proxy.Block
	default:
		return c, wo, usageErrorf("--on-full: want drop or block, got %q", o.OnFull)
	}
	if c.SampleRate, c.SampleRates, err = proxy.ParseSampleRates(o.SampleRates); err != nil {
		return c, wo, &usageError{err}
	}
	if c.Tier, c.Tiers, err = proxy.ParseTiers(o.Tiers); err != nil {
		return c, wo, &usageError{err}
	}
	c.InjectSeed, c.MaxBody, c.UpstreamTimeout = o.InjectSeed, int64(o.MaxBody), o.UpstreamTimeout
	wo.QueueSize, wo.SegmentRows, wo.SegmentAge = o.Queue, o.SegmentRows, o.SegmentAge
	return c, wo, nil
}

// runCaptureServe serves the proxy until ctx is done, then drains it.
func runCaptureServe(ctx context.Context, g *globalOptions, s *streams, o *captureServeOptions) error {
	cfg, wo, err := o.config()
	if err != nil {
		return err
	}
	if cfg.Target, err = capture.LoadTarget(o.System); err != nil {
		return err
	}
	st, err := initStore(g)
	if err != nil {
		return err
	}
	log := g.logger(s)
	wo.Logger, cfg.Logger = log, log
	w, err := proxy.NewWriter(o.Log, st, wo)
	if err != nil {
		return usageErrorf("--log %s: %v", o.Log, err)
	}
	cfg.Writer = w
	p, err := proxy.New(cfg)
	if err != nil {
		w.Close()
		return err
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		w.Close()
		return usageErrorf("--listen %s: %v", o.Listen, err)
	}
	fmt.Fprintf(s.Err, "reprise capture: %s -> %s, recording system %s to %s (a kill -9 loses at most %d records)\n",
		ln.Addr(), cfg.Upstream.Redacted(), cfg.Target.System.ID, o.Log, wo.LossBound())
	if o.ready != nil {
		o.ready(ln.Addr().String())
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err = <-served:
	case <-ctx.Done():
		dctx, cancel := context.WithTimeout(context.Background(), o.DrainTimeout)
		err = srv.Shutdown(dctx)
		cancel()
	}
	werr := w.Close()
	m := p.Metrics()
	fmt.Fprintf(s.Err, "reprise capture: stopped: %d requests, %d recorded, %d dropped, %d segments\n",
		m.Requests.Load(), m.Recorded.Load(), m.Dropped.Load(), m.Segments.Load())
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return werr
}

// segmentSetLog is the log nightly reads: log itself, or, for a directory
// or glob of segments (capture serve's), their rows concatenated into
// out/segments.parquet (the same bytes for the same segments, so a night
// resumes while no segment is added).
func segmentSetLog(log, out string, lim record.ParquetLimits) (string, error) {
	if !proxy.IsSegmentSet(log) {
		return log, nil
	}
	paths, err := proxy.Segments(log)
	if err != nil {
		return "", fmt.Errorf("%w: %w", nightly.ErrLog, err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	dst := filepath.Join(out, "segments.parquet")
	if err := proxy.Concat(paths, dst, lim); err != nil {
		return "", fmt.Errorf("%w: %w", nightly.ErrLog, err)
	}
	return dst, nil
}
