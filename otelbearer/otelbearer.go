// Package otelbearer turns bearerkit's hooks into OpenTelemetry metrics
// and spans. It is a module of its own, so that a user of core pulls in no
// OpenTelemetry.
//
//	obs, err := otelbearer.New() // the global MeterProvider and TracerProvider
//	...
//	v, err := core.New(core.Config{Issuer: issuer, Hooks: obs.Hooks()})
//	obs.Observe(v) // key set age and token cache gauges
//	cc, err := clientcreds.New(clientcreds.Config{..., Hooks: obs.ClientHooks()})
//
// # Metrics
//
// Names, units and attributes follow the OpenTelemetry semantic
// conventions' style; every attribute value comes from the configuration
// or a fixed list, never from a token, so cardinality stays bounded.
//
//	bearerkit.verifications           counter    {verification}  every verification: bearerkit.verifier,
//	                                                    bearerkit.issuer, bearerkit.result, bearerkit.reason,
//	                                                    bearerkit.alg, bearerkit.cached
//	bearerkit.verification.duration   histogram  s      verifications not served from the cache (cache hits
//	                                                    take well under a microsecond), the same attributes
//	bearerkit.fetch.duration          histogram  s      every key set, discovery or introspection request:
//	                                                    bearerkit.fetch.kind, server.address, http.response.status_code,
//	                                                    error.type (only on transport errors)
//	bearerkit.keyset.transitions      counter    {transition}  key set states: bearerkit.issuer, bearerkit.keyset.state
//	bearerkit.cache.evictions         counter    {entry}  bearerkit.cache ("token" or "introspection")
//	bearerkit.keyset.age              gauge      s      age of the key set in use, per observed issuer
//	bearerkit.keyset.usable           gauge             1 while the issuer's keys can verify tokens, else 0
//	bearerkit.token_cache.entries     gauge      {entry}  tokens held by an observed verifier's cache:
//	                                                    bearerkit.issuer ("" for a MultiIssuer's shared cache)
//	bearerkit.client.token_request.duration  histogram  s  clientcreds token requests: server.address,
//	                                                    http.response.status_code, error.type (on failure)
//
// # Spans
//
// Each key set, discovery and introspection request, and each clientcreds
// token request, becomes a client span ("bearerkit fetch jwks", "bearerkit
// fetch introspection", "bearerkit token request"), a child of the span in
// the request's context, with the attributes above; a failure sets the
// span's status to Error, described by its error.type alone (error texts may
// quote what a server sent).
package otelbearer

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/bearerkit/bearerkit/clientcreds"
	"github.com/bearerkit/bearerkit/core"
)

// ScopeName is the instrumentation scope of the meter and tracer.
const ScopeName = "github.com/bearerkit/bearerkit/otelbearer"

// Option configures [New].
type Option func(*config)

type config struct {
	mp metric.MeterProvider
	tp trace.TracerProvider
}

// WithMeterProvider sets the MeterProvider; the default is the global one.
func WithMeterProvider(mp metric.MeterProvider) Option { return func(c *config) { c.mp = mp } }

// WithTracerProvider sets the TracerProvider; the default is the global
// one.
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tp = tp } }

// Observer records bearerkit's hooks as OpenTelemetry metrics and spans.
// It is safe for concurrent use; one Observer serves any number of
// verifiers and clients.
type Observer struct {
	tracer trace.Tracer

	verifyDuration metric.Float64Histogram
	fetchDuration  metric.Float64Histogram
	transitions    metric.Int64Counter
	evictions      metric.Int64Counter
	tokenDuration  metric.Float64Histogram

	// Verifications are counted here, one atomic counter per attribute
	// set (a few dozen at most), and handed to the SDK when it collects:
	// a cache hit then costs an addition, not a measurement.
	countsMu sync.RWMutex
	counts   map[verificationKey]*series

	mu       sync.Mutex
	observed []Observable
}

// Observable is a verifier whose state the gauges report: a
// *core.Verifier or a *core.MultiIssuer.
type Observable interface {
	KeySetStatuses() []core.KeySetStatus
	TokenCacheStats() core.TokenCacheStats
}

// New returns an Observer on the configured (or global) providers.
func New(opts ...Option) (*Observer, error) {
	c := config{}
	for _, o := range opts {
		o(&c)
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	m := c.mp.Meter(ScopeName)
	o := &Observer{tracer: c.tp.Tracer(ScopeName), counts: map[verificationKey]*series{}}
	secs := metric.WithExplicitBucketBoundaries(0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10)
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	var err error
	o.verifyDuration, err = m.Float64Histogram("bearerkit.verification.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of token verifications."), secs)
	add(err)
	verifications, err := m.Int64ObservableCounter("bearerkit.verifications", metric.WithUnit("{verification}"),
		metric.WithDescription("Token verifications, by result and reason."))
	add(err)
	o.fetchDuration, err = m.Float64Histogram("bearerkit.fetch.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of key set, discovery and introspection requests."), secs)
	add(err)
	o.transitions, err = m.Int64Counter("bearerkit.keyset.transitions", metric.WithUnit("{transition}"),
		metric.WithDescription("Key set fetches, by the state they leave the set in."))
	add(err)
	o.evictions, err = m.Int64Counter("bearerkit.cache.evictions", metric.WithUnit("{entry}"),
		metric.WithDescription("Entries dropped from bounded caches to stay within their bounds."))
	add(err)
	o.tokenDuration, err = m.Float64Histogram("bearerkit.client.token_request.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of clientcreds token requests."), secs)
	add(err)
	age, err := m.Float64ObservableGauge("bearerkit.keyset.age", metric.WithUnit("s"),
		metric.WithDescription("Age of the key set in use, per observed issuer."))
	add(err)
	usable, err := m.Int64ObservableGauge("bearerkit.keyset.usable",
		metric.WithDescription("1 while the issuer's keys can verify tokens, else 0."))
	add(err)
	entries, err := m.Int64ObservableGauge("bearerkit.token_cache.entries", metric.WithUnit("{entry}"),
		metric.WithDescription("Tokens held by the verified-token cache."))
	add(err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	_, err = m.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		o.mu.Lock()
		defer o.mu.Unlock()
		now := time.Now()
		for _, v := range o.observed {
			statuses := v.KeySetStatuses()
			// Dynamic issuers share their label: the oldest set and the
			// worst usability among them stand for all.
			type labelState struct {
				age    float64
				loaded bool
				usable bool
			}
			byLabel := map[string]*labelState{}
			var order []string
			for _, st := range statuses {
				ls := byLabel[st.Label]
				if ls == nil {
					ls = &labelState{usable: true}
					byLabel[st.Label] = ls
					order = append(order, st.Label)
				}
				if st.Loaded {
					ls.loaded = true
					ls.age = max(ls.age, now.Sub(st.FetchedAt).Seconds())
				}
				ls.usable = ls.usable && st.Usable
			}
			for _, label := range order {
				ls := byLabel[label]
				iss := metric.WithAttributes(attribute.String("bearerkit.issuer", label))
				if ls.loaded {
					ob.ObserveFloat64(age, ls.age, iss)
				}
				ob.ObserveInt64(usable, boolInt(ls.usable), iss)
			}
			// A Verifier's cache is its issuer's; a MultiIssuer's is shared
			// by all of them ("").
			owner := ""
			if len(statuses) == 1 {
				owner = statuses[0].Label
			}
			ob.ObserveInt64(entries, int64(v.TokenCacheStats().Entries), metric.WithAttributes(attribute.String("bearerkit.issuer", owner)))
		}
		o.countsMu.RLock()
		for _, s := range o.counts {
			ob.ObserveInt64(verifications, s.n.Load(), s.observe)
		}
		o.countsMu.RUnlock()
		return nil
	}, age, usable, entries, verifications)
	if err != nil {
		return nil, err
	}
	return o, nil
}

// Observe adds a verifier to the gauges until stop is called (call it
// when the verifier is closed).
func (o *Observer) Observe(v Observable) (stop func()) {
	o.mu.Lock()
	o.observed = append(o.observed, v)
	o.mu.Unlock()
	return func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		for i, w := range o.observed {
			if w == v {
				o.observed = append(o.observed[:i], o.observed[i+1:]...)
				return
			}
		}
	}
}

// Hooks returns the hooks of core and introspect configurations.
func (o *Observer) Hooks() core.Hooks {
	return core.Hooks{
		Verification:  o.verification,
		Fetch:         o.fetch,
		KeySet:        o.keySet,
		CacheEviction: o.eviction,
	}
}

// ClientHooks returns the hooks of clientcreds configurations.
func (o *Observer) ClientHooks() clientcreds.Hooks {
	return clientcreds.Hooks{TokenRequest: o.tokenRequest}
}

// maxSeries bounds the verification series otelbearer keeps. bearerkit's
// own events stay far below it: issuers from the configuration, reasons
// and algorithms from fixed lists.
const maxSeries = 2000

type verificationKey struct {
	verifier, issuer string
	result           core.Result
	reason           core.Reason
	alg              string
	cached           bool
}

// series is one attribute set of verifications: its count, and its
// options for the SDK, built once.
type series struct {
	n       atomic.Int64
	observe metric.ObserveOption
	record  metric.RecordOption
}

func (o *Observer) verification(ctx context.Context, e core.VerificationEvent) {
	k := verificationKey{e.Verifier, e.Issuer, e.Result, e.Reason, e.Alg, e.Cached}
	o.countsMu.RLock()
	s := o.counts[k]
	o.countsMu.RUnlock()
	if s == nil {
		s = o.newSeries(k)
	}
	// (newSeries folds keys beyond maxSeries into one overflow series.)
	s.n.Add(1)
	if !e.Cached {
		// Cache hits take well under a microsecond; the histogram is for
		// the verifications whose time varies.
		o.verifyDuration.Record(ctx, e.Duration.Seconds(), s.record)
	}
}

// newSeries returns the series of k, made on first use.
func (o *Observer) newSeries(k verificationKey) *series {
	o.countsMu.Lock()
	defer o.countsMu.Unlock()
	if s := o.counts[k]; s != nil {
		return s
	}
	if len(o.counts) >= maxSeries {
		// A Hooks shared with code that names issuers freely must not grow
		// without bound: the rest are counted together.
		k = verificationKey{verifier: k.verifier, issuer: "_overflow", result: k.result}
		if s := o.counts[k]; s != nil {
			return s
		}
	}
	set := attribute.NewSet(
		attribute.String("bearerkit.verifier", k.verifier),
		attribute.String("bearerkit.issuer", k.issuer),
		attribute.String("bearerkit.result", string(k.result)),
		attribute.String("bearerkit.reason", string(k.reason)),
		attribute.String("bearerkit.alg", k.alg),
		attribute.Bool("bearerkit.cached", k.cached),
	)
	s := &series{observe: metric.WithAttributeSet(set), record: metric.WithAttributeSet(set)}
	o.counts[k] = s
	return s
}

func (o *Observer) fetch(ctx context.Context, e core.FetchEvent) {
	attrs := []attribute.KeyValue{
		attribute.String("bearerkit.fetch.kind", string(e.Kind)),
		attribute.String("server.address", e.Host),
	}
	if e.Status != 0 {
		attrs = append(attrs, attribute.Int("http.response.status_code", e.Status))
	}
	failure := ""
	if e.Err != nil || e.Status >= 400 {
		failure = errorType(e.Status, e.Err)
		attrs = append(attrs, attribute.String("error.type", failure))
	}
	o.fetchDuration.Record(ctx, e.Duration.Seconds(), metric.WithAttributes(attrs...))
	o.span(ctx, "bearerkit fetch "+string(e.Kind), e.Duration, attrs, failure)
}

func (o *Observer) keySet(e core.KeySetEvent) {
	o.transitions.Add(context.Background(), 1, metric.WithAttributes(
		attribute.String("bearerkit.issuer", e.Issuer),
		attribute.String("bearerkit.keyset.state", string(e.State)),
	))
}

func (o *Observer) eviction(e core.EvictionEvent) {
	o.evictions.Add(context.Background(), int64(e.Entries), metric.WithAttributes(attribute.String("bearerkit.cache", e.Cache)))
}

func (o *Observer) tokenRequest(ctx context.Context, e clientcreds.TokenRequestEvent) {
	attrs := []attribute.KeyValue{attribute.String("server.address", e.Host)}
	if e.Status != 0 {
		attrs = append(attrs, attribute.Int("http.response.status_code", e.Status))
	}
	failure := ""
	if e.Err != nil {
		failure = errorType(e.Status, e.Err)
		attrs = append(attrs, attribute.String("error.type", failure))
	}
	o.tokenDuration.Record(ctx, e.Duration.Seconds(), metric.WithAttributes(attrs...))
	o.span(ctx, "bearerkit token request", e.Duration, attrs, failure)
}

// span records a finished client operation as a span that began d ago.
// A failure's status names its error.type only: error texts may quote
// what a server sent.
func (o *Observer) span(ctx context.Context, name string, d time.Duration, attrs []attribute.KeyValue, failure string) {
	end := time.Now()
	_, s := o.tracer.Start(ctx, name, trace.WithTimestamp(end.Add(-d)),
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	if failure != "" {
		s.SetStatus(codes.Error, failure)
	}
	s.End(trace.WithTimestamp(end))
}

// errorType is the error.type of a failed request: the HTTP status, or
// "transport" when no response came.
func errorType(status int, err error) string {
	switch {
	case status >= 400:
		return strconv.Itoa(status)
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "transport"
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
