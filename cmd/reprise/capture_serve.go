package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/capture/proxy"
)

// captureServeOptions are the flags of `capture serve`.
type captureServeOptions struct {
	proxy.ServeOptions

	// ready, when set (tests), is called with the listening address.
	ready func(addr string)
}

func newCaptureCmd(g *globalOptions, s *streams) *cobra.Command {
	return newGroup("capture", "Capture decisions in production",
		help("capture"),
		newCaptureServeCmd(g, s))
}

func newCaptureServeCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &captureServeOptions{ServeOptions: proxy.ServeOptions{MaxBody: proxy.DefaultMaxBody}}
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
	f.Var((*byteSize)(&o.MaxBody), "max-body", "largest request or response body recorded (larger ones pass through)")
	return cmd
}

// runCaptureServe serves the proxy until ctx is done, then drains it.
func runCaptureServe(ctx context.Context, g *globalOptions, s *streams, o *captureServeOptions) error {
	cfg, wo, err := o.Config()
	if err != nil {
		return &usageError{err}
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
	p, w, ln, err := o.Open(cfg, wo, st.NewBatch())
	if fe := (*proxy.FlagError)(nil); errors.As(err, &fe) {
		return &usageError{err}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Err, "reprise capture: %s -> %s, recording system %s to %s (a kill -9 loses at most %d records)\n",
		ln.Addr(), cfg.Upstream.Redacted(), cfg.Target.System.ID, o.Log, wo.LossBound())
	if o.ready != nil {
		o.ready(ln.Addr().String())
	}
	err = proxy.Serve(ctx, ln, p, o.DrainTimeout)
	werr := w.Close()
	m := p.Metrics()
	fmt.Fprintf(s.Err, "reprise capture: stopped: %d requests, %d recorded, %d dropped, %d segments\n",
		m.Requests.Load(), m.Recorded.Load(), m.Dropped.Load(), m.Segments.Load())
	if err != nil {
		return err
	}
	return werr
}
