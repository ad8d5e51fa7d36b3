package fetch

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Observation describes one finished request of an observed client.
type Observation struct {
	Kind     string   // from the request's context (see WithKind); "" when untagged
	URL      *url.URL // the request's URL
	Status   int      // 0 when no response came
	Bytes    int64    // body bytes read by the caller
	Duration time.Duration
	Err      error // the transport's error, or the body read's
}

type kindKey struct{}

// WithKind tags the requests made with ctx, for observers.
func WithKind(ctx context.Context, kind string) context.Context {
	return context.WithValue(ctx, kindKey{}, kind)
}

// Observe returns a copy of c whose requests are reported to fn when they
// finish: on a transport error, or when the caller closes the body.
func Observe(c *http.Client, fn func(context.Context, Observation)) *http.Client {
	cc := *c
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cc.Transport = &observer{base: base, fn: fn}
	return &cc
}

type observer struct {
	base http.RoundTripper
	fn   func(context.Context, Observation)
}

func (o *observer) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	kind, _ := req.Context().Value(kindKey{}).(string)
	resp, err := o.base.RoundTrip(req)
	if err != nil {
		o.fn(req.Context(), Observation{Kind: kind, URL: req.URL, Duration: time.Since(start), Err: err})
		return nil, err
	}
	resp.Body = &observedBody{rc: resp.Body, done: func(n int64, err error) {
		o.fn(req.Context(), Observation{Kind: kind, URL: req.URL, Status: resp.StatusCode, Bytes: n, Duration: time.Since(start), Err: err})
	}}
	return resp, nil
}

// observedBody counts what is read and reports once, at Close.
type observedBody struct {
	rc   io.ReadCloser
	n    int64
	err  error
	once sync.Once
	done func(n int64, err error)
}

func (b *observedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

func (b *observedBody) Close() error {
	err := b.rc.Close()
	b.once.Do(func() { b.done(b.n, b.err) })
	return err
}
