// Package endpoint replays against an HTTP inference server that is already
// running (e.g. a GPU server elsewhere): nothing is started or stopped, so
// the environment is not pinned (Info.Pinned is false, and reports say so).
// What the server says about itself (openai: GET /v1/models, and every
// system_fingerprint its answers carry) is kept in Info.
package endpoint

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/httpsess"
)

// DefaultStartTimeout bounds run 0 of a session: the server already runs,
// so it is shorter than runners.DefaultStartTimeout (a later run and the
// session take runners.DefaultRunTimeout and DefaultSessionTimeout).
const DefaultStartTimeout = time.Minute

// Runner starts sessions against the server at URL.
type Runner struct {
	// URL is the server's base URL, e.g. "http://gpu-7:8000".
	URL string
}

// ParseURL checks a server URL: http or https, a host, no query or fragment.
func ParseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("want http(s)://HOST[:PORT][/PREFIX], got %q", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// Start waits for the server's readiness path (within the start timeout)
// and returns a session of it. A stdio protocol wraps runners.ErrUnsupported.
func (r *Runner) Start(ctx context.Context, spec runners.Spec) (runners.Session, error) {
	codec, ok := spec.Codec.(runners.HTTPCodec)
	if !ok {
		name := "none"
		if spec.Codec != nil {
			name = spec.Codec.Name()
		}
		return nil, fmt.Errorf("%w: protocol %s: the endpoint runner speaks HTTP protocols only", runners.ErrUnsupported, name)
	}
	if _, _, err := spec.InFlight(); err != nil {
		return nil, err
	}
	base, err := ParseURL(r.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: --url: %v", runners.ErrUnsupported, err)
	}
	budget := runners.NewBudget(spec, DefaultStartTimeout, runners.DefaultRunTimeout, runners.DefaultSessionTimeout, time.Now())
	hc := httpsess.NewClient()
	if err := httpsess.WaitReady(ctx, hc, base, codec, budget.Start, nil, nil); err != nil {
		return nil, err
	}
	s := httpsess.New(codec, base, hc, budget, spec, runners.Info{Runner: "endpoint", Pinned: false})
	if d, ok := codec.(runners.Describer); ok {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if desc, err := d.Describe(dctx, hc, base); err == nil {
			s.SetServer(desc)
		}
		cancel()
	}
	return s, nil
}
