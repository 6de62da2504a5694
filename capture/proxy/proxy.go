package proxy

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/record"
)

// Input says what is kept of a request's bytes.
type Input int

const (
	// InputFull stores the exact request bytes (content-addressed).
	InputFull Input = iota
	// InputHashOnly keeps only their digest (inputs that may not be kept).
	InputHashOnly
)

// Tier is what a route keeps of its decisions. Every tier writes the
// record's row (the output columns included, which the schema requires);
// the tiers differ in the blobs put into the store.
type Tier int

const (
	// TierFull stores the request bytes and the response's canonical bytes.
	TierFull Tier = iota
	// TierOutput stores the response's canonical bytes, not the request's
	// (its digest only).
	TierOutput
	// TierHash stores no blob: the row holds the digests.
	TierHash
)

// ParseTier parses full, output or hash.
func ParseTier(s string) (Tier, error) {
	switch s {
	case "full":
		return TierFull, nil
	case "output":
		return TierOutput, nil
	case "hash":
		return TierHash, nil
	}
	return 0, fmt.Errorf("tier %q: want full, output or hash", s)
}

// Config configures a Proxy. Upstream, Target and Writer are required.
type Config struct {
	// Upstream is the inference server's base URL.
	Upstream *url.URL
	// Target is the composite version of the upstream (the system file).
	Target launch.Target
	Writer *Writer
	Input  Input
	// Tier is the default tier; Tiers overrides it per path.
	Tier  Tier
	Tiers map[string]Tier
	// InjectSeed adds a random seed to openai requests without one; the
	// record's runtime.env.driver says the seed was injected.
	InjectSeed bool
	// SampleRate is the share of recorded-route requests recorded (0 is
	// taken as 1); SampleRates overrides it per path ("/v1/completions")
	// or per model name. The draw hashes the request id: deterministic.
	SampleRate  float64
	SampleRates map[string]float64
	// MaxBody bounds the request and response bodies recorded, in bytes
	// (default DefaultMaxBody); larger ones pass through unrecorded.
	MaxBody int64
	// UpstreamTimeout bounds the wait for the upstream's response headers
	// (default DefaultUpstreamTimeout); past it the client gets a 502.
	UpstreamTimeout time.Duration
	Metrics         *Metrics
	Logger          *slog.Logger
	// Now is the clock (default time.Now); Rand draws request ids and
	// seeds (default crypto/rand).
	Now  func() time.Time
	Rand io.Reader
	// Transport carries requests to the upstream (default: a clone of
	// http.DefaultTransport with ResponseHeaderTimeout set).
	Transport http.RoundTripper
}

// Defaults of Config.
const (
	DefaultMaxBody         = 8 << 20
	DefaultUpstreamTimeout = 10 * time.Minute
)

// RequestIDHeader carries the request id; the proxy returns it (generated
// when the request had none).
const RequestIDHeader = "X-Request-Id"

// Proxy is the recording reverse proxy (an http.Handler). /metrics and
// /healthz are its own; every other path goes to the upstream.
type Proxy struct {
	cfg Config
	m   *Metrics
	rt  http.RoundTripper
}

// New checks cfg and returns its proxy.
func New(cfg Config) (*Proxy, error) {
	if cfg.Upstream == nil || cfg.Writer == nil {
		return nil, errors.New("proxy: the upstream and the writer are required")
	}
	if err := cfg.Target.System.Check(); err != nil {
		return nil, fmt.Errorf("proxy: system: %w", err)
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.UpstreamTimeout <= 0 {
		cfg.UpstreamTimeout = DefaultUpstreamTimeout
	}
	if cfg.SampleRate == 0 {
		cfg.SampleRate = 1
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = cfg.Writer.opts.Metrics
	}
	p := &Proxy{cfg: cfg, m: cfg.Metrics, rt: cfg.Transport}
	if p.rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = cfg.UpstreamTimeout
		t.MaxIdleConnsPerHost = 256
		t.DisableCompression = true // bytes pass through as the upstream sent them
		p.rt = t
	}
	return p, nil
}

// Metrics are the proxy's counters.
func (p *Proxy) Metrics() *Metrics { return p.m }

// ServeHTTP serves /metrics and /healthz, records what it can of the
// recorded routes, and passes everything else through.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/metrics":
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		p.m.WriteText(w)
		return
	case "/healthz":
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok\n")
		return
	}
	p.m.Requests.Add(1)
	rt, ok := p.route(r)
	if !ok {
		p.m.PassThrough.Add(1)
		p.forward(w, r, r.Body, r.ContentLength, false)
		return
	}
	p.serveRecorded(w, r, rt)
}

// route is a recorded route: its protocol and, for kserve-v2, the model.
type route struct {
	protocol, path, model string
}

var kservePath = regexp.MustCompile(`^/v2/models/([^/]+)(?:/versions/[^/]+)?/infer$`)

// route says whether r is recorded: a POST of the system's protocol.
func (p *Proxy) route(r *http.Request) (route, bool) {
	if r.Method != http.MethodPost {
		return route{}, false
	}
	switch proto := p.cfg.Target.Protocol; {
	case proto == "openai" && (r.URL.Path == "/v1/chat/completions" || r.URL.Path == "/v1/completions"):
		return route{protocol: proto, path: r.URL.Path}, true
	case proto == "kserve-v2":
		if m := kservePath.FindStringSubmatch(r.URL.Path); m != nil {
			return route{protocol: proto, path: r.URL.Path, model: m[1]}, true
		}
	}
	return route{}, false
}

var requestIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$`)

// requestID is the request's id header, or a fresh one (set on the
// response) when it has none a record can hold.
func (p *Proxy) requestID(w http.ResponseWriter, r *http.Request) string {
	if id := r.Header.Get(RequestIDHeader); requestIDRe.MatchString(id) {
		w.Header().Set(RequestIDHeader, id)
		return id
	}
	var b [12]byte
	io.ReadFull(p.cfg.Rand, b[:])
	id := "req_" + hex.EncodeToString(b[:])
	w.Header().Set(RequestIDHeader, id)
	r.Header.Set(RequestIDHeader, id)
	return id
}

// drawSeed is a random seed below 2^53 (record.DrawnSeedBits: exact as a
// JSON number in every reader).
func (p *Proxy) drawSeed() int64 {
	var b [8]byte
	io.ReadFull(p.cfg.Rand, b[:])
	return int64(binary.BigEndian.Uint64(b[:]) >> (64 - record.DrawnSeedBits))
}

// sampled decides, from the request id's hash, whether to record.
func (p *Proxy) sampled(rt route, model, id string) bool {
	rate := p.cfg.SampleRate
	if v, ok := p.cfg.SampleRates[rt.path]; ok {
		rate = v
	} else if v, ok := p.cfg.SampleRates[model]; ok && model != "" {
		rate = v
	}
	if rate >= 1 {
		return true
	}
	h := fnv64(id)
	return float64(h>>11)/float64(1<<53) < rate
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	// splitmix64's finaliser, so nearby ids spread
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

// readLimited reads at most limit bytes of r; whole says whether that was
// all of it.
func readLimited(r io.Reader, limit int64) (b []byte, whole bool, err error) {
	b, err = io.ReadAll(io.LimitReader(r, limit+1))
	return b, int64(len(b)) <= limit && err == nil, err
}

// bad answers a request the proxy could not forward with a 502 and a
// body that says why.
func bad(w http.ResponseWriter, status int, format string, a ...any) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Reprise-Capture-Error", "1")
	w.WriteHeader(status)
	fmt.Fprintf(w, "reprise capture: "+format+"\n", a...)
}

// withSeed is an openai body (a JSON object) with "seed" added first.
func withSeed(body []byte, seed int64) []byte {
	t := bytes.TrimLeft(body, " \t\r\n")
	rest := bytes.TrimLeft(t[1:], " \t\r\n")
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"seed":%d`, seed)
	if len(rest) > 0 && rest[0] != '}' {
		b.WriteByte(',')
	}
	b.Write(rest)
	return b.Bytes()
}

// hopHeaders are not forwarded (RFC 9110 7.6.1).
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func stripHop(h http.Header) {
	for _, f := range strings.Split(h.Get("Connection"), ",") {
		if f = strings.TrimSpace(f); f != "" {
			h.Del(f)
		}
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
}

var _ http.Handler = (*Proxy)(nil)
