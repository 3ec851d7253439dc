// Package metrics owns keyless's Prometheus metrics: one registry per
// server, request counters and latencies per front door, token outcomes,
// and the change-feed position. Labels are low-cardinality by construction
// (front door names and status classes, never paths or client IDs).
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the set of metrics of one server.
type Metrics struct {
	Registry     *prometheus.Registry
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	Tokens       *prometheus.CounterVec
	FeedRevision prometheus.Gauge
}

// New registers every metric in a fresh registry.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyless_http_requests_total", Help: "HTTP requests by front door and status code.",
		}, []string{"door", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "keyless_http_request_duration_seconds", Help: "HTTP request latency by front door.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"door"}),
		Tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyless_tokens_total", Help: "Token requests by grant and outcome (issued or the OAuth error code).",
		}, []string{"grant", "outcome"}),
		FeedRevision: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "keyless_feed_revision", Help: "Newest store revision applied to this replica's in-memory indexes.",
		}),
	}
	m.Registry.MustRegister(m.requests, m.latency, m.Tokens, m.FeedRevision,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// Instrument counts and times the requests of one front door.
func (m *Metrics) Instrument(door string, next http.Handler) http.Handler {
	requests := map[int]prometheus.Counter{}
	for _, code := range []int{200, 201, 202, 204, 400, 401, 403, 404, 409, 413, 429, 500, 503} {
		requests[code] = m.requests.WithLabelValues(door, strconv.Itoa(code))
	}
	lat := m.latency.WithLabelValues(door)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		lat.Observe(time.Since(start).Seconds())
		if c, ok := requests[sw.status]; ok {
			c.Inc()
		} else {
			m.requests.WithLabelValues(door, strconv.Itoa(sw.status)).Inc()
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Flush keeps streaming responses (agent event streams) working.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
