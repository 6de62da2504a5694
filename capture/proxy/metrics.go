package proxy

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Metrics are the proxy's counters, served at /metrics in the Prometheus
// text format (WriteText).
type Metrics struct {
	// Requests counts every request the proxy forwarded (recorded routes
	// or not); PassThrough those of routes it does not record.
	Requests, PassThrough atomic.Int64
	// Recorded counts records written to complete segments; Dropped
	// records that found the queue full (or the writer closed); Lost
	// records of a segment that could not be written.
	Recorded, Dropped, Lost atomic.Int64
	// Segments counts the segments written; QueueDepth is the records on
	// the queue now.
	Segments, QueueDepth atomic.Int64

	mu      sync.Mutex
	skipped map[string]int64
	added   histogram
}

// NewMetrics returns zero metrics.
func NewMetrics() *Metrics {
	return &Metrics{skipped: map[string]int64{}, added: newHistogram(addedBuckets)}
}

// Reasons a request of a recorded route is not recorded.
const (
	ReasonSampledOut   = "sampled_out"
	ReasonOversize     = "oversize"
	ReasonMalformed    = "malformed_json"
	ReasonStatus       = "upstream_status"
	ReasonUndecodable  = "undecodable_response"
	ReasonUpstream     = "upstream_error"
	ReasonClientGone   = "client_disconnected"
	ReasonStreamBroken = "incomplete_stream"
)

func (m *Metrics) notRecorded(reason string) {
	m.mu.Lock()
	m.skipped[reason]++
	m.mu.Unlock()
}

// NotRecorded is the count of requests not recorded for reason.
func (m *Metrics) NotRecorded(reason string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.skipped[reason]
}

// observeAdded records the time the proxy added to one request.
func (m *Metrics) observeAdded(d time.Duration) {
	m.mu.Lock()
	m.added.observe(d.Seconds())
	m.mu.Unlock()
}

// addedBuckets are the upper bounds, in seconds, of the added-latency
// histogram.
var addedBuckets = []float64{25e-6, 50e-6, 100e-6, 200e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 50e-3}

type histogram struct {
	bounds []float64
	counts []int64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	n      int64
}

func newHistogram(b []float64) histogram {
	return histogram{bounds: b, counts: make([]int64, len(b)+1)}
}

func (h *histogram) observe(v float64) {
	i, _ := slices.BinarySearch(h.bounds, v)
	h.counts[i]++
	h.sum += v
	h.n++
}

// WriteText writes the metrics in the Prometheus text exposition format.
func (m *Metrics) WriteText(w io.Writer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	counter := func(name, help string, v int64) {
		p("# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	counter("reprise_capture_requests_total", "Requests forwarded to the upstream.", m.Requests.Load())
	counter("reprise_capture_passthrough_total", "Requests of routes that are not recorded.", m.PassThrough.Load())
	counter("reprise_capture_recorded_total", "Records written to complete segments.", m.Recorded.Load())
	counter("reprise_capture_dropped_total", "Records dropped because the queue was full.", m.Dropped.Load())
	counter("reprise_capture_lost_total", "Records of segments that could not be written.", m.Lost.Load())
	counter("reprise_capture_segments_total", "Segments written.", m.Segments.Load())
	p("# HELP reprise_capture_not_recorded_total Requests of recorded routes not recorded, by reason.\n# TYPE reprise_capture_not_recorded_total counter\n")
	for _, r := range []string{ReasonSampledOut, ReasonOversize, ReasonMalformed, ReasonStatus, ReasonUndecodable, ReasonUpstream, ReasonClientGone, ReasonStreamBroken, ReasonErrorAnswer, ReasonInvalidRecord, ReasonQueueFull, "store_error"} {
		p("reprise_capture_not_recorded_total{reason=%q} %d\n", r, m.skipped[r])
	}
	p("# HELP reprise_capture_queue_depth Records waiting on the queue.\n# TYPE reprise_capture_queue_depth gauge\nreprise_capture_queue_depth %d\n", m.QueueDepth.Load())
	name := "reprise_capture_added_latency_seconds"
	p("# HELP %s Time the proxy added to a request (its whole time minus the upstream's).\n# TYPE %s histogram\n", name, name)
	var cum int64
	for i, b := range m.added.bounds {
		cum += m.added.counts[i]
		p("%s_bucket{le=\"%g\"} %d\n", name, b, cum)
	}
	cum += m.added.counts[len(m.added.bounds)]
	p("%s_bucket{le=\"+Inf\"} %d\n%s_sum %s\n%s_count %d\n", name, cum, name, fmtFloat(m.added.sum), name, m.added.n)
	return nil
}

func fmtFloat(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return "NaN"
	}
	return fmt.Sprintf("%g", v)
}
