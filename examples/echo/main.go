// Command echo is an Echo API protected by bearerkit, written to be copied
// into a real service.
//
//	BEARERKIT_ISSUER=https://auth.example.com/ BEARERKIT_AUDIENCE=orders-api go run ./examples/echo
//
// Settings (environment): BEARERKIT_ISSUER and BEARERKIT_AUDIENCE are
// required; ADDR is the listen address (default :8080); LOG_LEVEL is debug,
// info (default), warn or error. With -demo and no issuer it starts an
// in-process authtest issuer instead and prints a token to try — for
// trying the example only.
//
// It serves GET /livez (always 200), GET /readyz (200 once the issuer's
// keys are loaded, else 503), GET /orders (scope orders:read) and DELETE
// /orders/:id (orders:write or orders:admin); failures are answered with
// bearerkit's RFC 6750 JSON bodies; it logs JSON to stderr and shuts down
// gracefully on SIGTERM or interrupt.
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

	"github.com/labstack/echo/v4"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/echoauth"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		stop()
		os.Exit(1)
	}
}

// run serves until ctx ends, then shuts down gracefully.
func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	flags := flag.NewFlagSet("echo", flag.ContinueOnError)
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
		return errors.New("BEARERKIT_ISSUER and BEARERKIT_AUDIENCE must be set (or pass -demo to try the example)")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cmp.Or(getenv("LOG_LEVEL"), "info"))); err != nil {
		return fmt.Errorf("LOG_LEVEL: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	v, err := core.New(core.Config{Issuer: issuer, Logger: log})
	if err != nil {
		return err
	}
	defer v.Close()
	// Fail fast on a wrong issuer; an unreachable one is retried in the
	// background, and /readyz answers 503 until its keys are loaded.
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if err := v.Prefetch(pctx); err != nil {
		log.Error("signing keys not loaded at start-up", "error", err.Error())
	}
	cancel()

	ln, err := net.Listen("tcp", cmp.Or(getenv("ADDR"), ":8080"))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newServer(v, audience), ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	fmt.Fprintf(out, "listening on http://%s\n", ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// newServer protects every route but the probes with bearerkit.
func newServer(v core.TokenVerifier, audience string) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = echo.ExtractIPDirect() // the peer address, whatever X-Forwarded-For says
	e.HTTPErrorHandler = echoauth.HTTPErrorHandler(e, nil)
	probes := func(c echo.Context) bool { return c.Path() == "/livez" || c.Path() == "/readyz" }
	e.Use(echoauth.New(v, echoauth.WithSkipper(probes)).Require(audience))
	e.GET("/livez", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	if rd, ok := v.(core.Readiness); ok {
		e.GET("/readyz", echo.WrapHandler(core.ReadinessHandler(rd)))
	}
	e.GET("/orders", func(c echo.Context) error {
		claims, _ := echoauth.Claims(c)
		return c.JSON(http.StatusOK, map[string]any{"client": claims.ClientID, "orders": []string{"o-1"}})
	}, echoauth.RequireScope("orders:read"))
	e.DELETE("/orders/:id", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) },
		echoauth.RequireAnyScope("orders:write", "orders:admin"))
	return e
}
