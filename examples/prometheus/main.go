// Command prometheus is an API protected by bearerkit whose verifications,
// key set fetches and cache are exposed as Prometheus metrics on /metrics,
// through OpenTelemetry (otelbearer and the OTel Prometheus exporter).
//
//	BEARERKIT_ISSUER=https://auth.example.com/ BEARERKIT_AUDIENCE=orders-api go run .
//	go run . -demo    # an in-process authtest issuer; prints a token to try
//
// Settings (environment): BEARERKIT_ISSUER and BEARERKIT_AUDIENCE are
// required (unless -demo); ADDR is the listen address (default :8080).
// It serves GET /orders (scope orders:read), GET /metrics, GET /livez and
// GET /readyz, and shuts down gracefully on SIGTERM or interrupt.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/otelbearer"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "prometheus:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	flags := flag.NewFlagSet("prometheus", flag.ContinueOnError)
	demo := flags.Bool("demo", false, "start an in-process authtest issuer (for trying the example only)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	issuer, audience := getenv("BEARERKIT_ISSUER"), getenv("BEARERKIT_AUDIENCE")
	if *demo && issuer == "" {
		srv := authtest.NewServer()
		defer srv.Close()
		issuer, audience = srv.Issuer, cmp.Or(audience, "orders-api")
		fmt.Fprintf(out, "demo mode: authtest issuer %s; a token with orders:read:\n%s\n", issuer, srv.Token(audience, "orders:read"))
	}
	if issuer == "" || audience == "" {
		return errors.New("BEARERKIT_ISSUER and BEARERKIT_AUDIENCE must be set (or pass -demo)")
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	h, shutdown, err := newHandler(issuer, audience, log)
	if err != nil {
		return err
	}
	defer shutdown()
	ln, err := net.Listen("tcp", cmp.Or(getenv("ADDR"), ":8080"))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(out, "listening on http://%s (metrics on /metrics)\n", ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// newHandler wires bearerkit, otelbearer and the Prometheus exporter: the
// part to copy.
func newHandler(issuer, audience string, log *slog.Logger) (http.Handler, func(), error) {
	registry := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(registry))
	if err != nil {
		return nil, nil, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	obs, err := otelbearer.New(otelbearer.WithMeterProvider(mp))
	if err != nil {
		return nil, nil, err
	}
	v, err := core.New(core.Config{Issuer: issuer, Logger: log, Hooks: obs.Hooks()})
	if err != nil {
		return nil, nil, err
	}
	obs.Observe(v)
	shutdown := func() {
		v.Close()
		_ = mp.Shutdown(context.Background())
	}
	pctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := v.Prefetch(pctx); err != nil {
		log.Error("signing keys not loaded at start-up", "error", err.Error())
	}

	api := http.NewServeMux()
	api.Handle("GET /orders", core.RequireScope("orders:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := core.ClaimsFromContext(r.Context())
		fmt.Fprintln(w, "orders for", c.ClientID)
	})))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("GET /readyz", core.ReadinessHandler(v))
	mux.Handle("/", core.Middleware(v, audience)(api))
	return mux, shutdown, nil
}
