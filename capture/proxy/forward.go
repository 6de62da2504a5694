package proxy

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// answer is what forward saw of the upstream's answer.
type answer struct {
	status int
	// body is the response body when captured and within MaxBody.
	body   []byte
	stream bool
	// reason is why the answer cannot be recorded ("" when it can).
	reason string
	// upstream is the time spent waiting on the upstream.
	upstream time.Duration
	// abort: the upstream broke off its answer; the client's connection
	// is to be cut too (panic(http.ErrAbortHandler), after counting).
	abort bool
}

// forward sends r (with body) to the upstream and copies the answer to w
// as it comes: status, headers, and the body chunk by chunk (flushed for
// event streams). With capture, the body is kept (up to MaxBody).
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, body io.Reader, length int64, capture bool) answer {
	out := r.Clone(r.Context())
	u := *p.cfg.Upstream
	u.Path = strings.TrimRight(u.Path, "/") + r.URL.Path
	u.RawPath = ""
	u.RawQuery = r.URL.RawQuery
	out.URL, out.Host, out.RequestURI = &u, u.Host, ""
	out.Body, out.ContentLength = io.NopCloser(body), length
	if body == http.NoBody || length == 0 {
		out.Body = http.NoBody
	}
	stripHop(out.Header)
	t0 := time.Now()
	resp, err := p.rt.RoundTrip(out)
	if err != nil {
		if r.Context().Err() != nil {
			return answer{reason: ReasonClientGone, upstream: time.Since(t0)}
		}
		p.cfg.Logger.Warn("upstream error", "path", r.URL.Path, "err", err)
		bad(w, http.StatusBadGateway, "upstream %s did not answer: %v", p.cfg.Upstream.Redacted(), err)
		return answer{status: http.StatusBadGateway, reason: ReasonUpstream, upstream: time.Since(t0)}
	}
	defer resp.Body.Close()
	h := w.Header()
	for k, v := range resp.Header {
		if k == RequestIDHeader && h.Get(RequestIDHeader) != "" {
			continue
		}
		h[k] = v
	}
	stripHop(h)
	w.WriteHeader(resp.StatusCode)
	a := answer{status: resp.StatusCode, stream: strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")}
	capture = capture && resp.StatusCode/100 == 2
	a.body, a.reason = p.copyBody(r, w, resp.Body, a.stream, capture)
	a.abort = a.reason == ReasonUpstream
	a.upstream = time.Since(t0)
	if a.reason == "" && !capture && resp.StatusCode/100 != 2 {
		a.reason = ReasonStatus
	}
	return a
}

// copyBufs are copyBody's buffers.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyBody copies the upstream's body to w chunk by chunk, keeping it when
// capture (at most MaxBody bytes: past it, nothing is kept and the reason
// is ReasonOversize). A client that goes away stops the copy
// (ReasonClientGone); an upstream that breaks off aborts the client's
// connection too, so it sees the answer cut as the upstream cut it.
func (p *Proxy) copyBody(r *http.Request, w http.ResponseWriter, body io.Reader, stream, capture bool) ([]byte, string) {
	fl, _ := w.(http.Flusher)
	var kept []byte
	reason := ""
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return nil, ReasonClientGone
			}
			if stream && fl != nil {
				fl.Flush()
			}
			if capture && reason == "" {
				if int64(len(kept)+n) > p.cfg.MaxBody {
					kept, reason = nil, ReasonOversize
				} else {
					kept = append(kept, buf[:n]...)
				}
			}
		}
		if errors.Is(rerr, io.EOF) {
			return kept, reason
		}
		if rerr != nil {
			if r.Context().Err() != nil {
				return nil, ReasonClientGone
			}
			p.cfg.Logger.Warn("upstream broke off its answer", "err", rerr)
			return nil, ReasonUpstream
		}
	}
}
