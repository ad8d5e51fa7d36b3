// Command mcp is an MCP server on the official Go SDK, protected by
// bearerkit, written to be copied into a real service; package mcpserver
// holds the server, this file runs it.
//
//	BEARERKIT_ISSUER=https://auth.example.com/ BEARERKIT_RESOURCE=https://mcp.example.com/mcp go run .
//
// Settings (environment): BEARERKIT_ISSUER, the authorization server, and
// BEARERKIT_RESOURCE, the MCP endpoint's URL as clients know it (the
// audience its tokens must carry), are required; ADDR is the listen address
// (default :8080); LOG_LEVEL is debug, info (default), warn or error.
//
// It serves the MCP endpoints of package mcpserver at the path of
// BEARERKIT_RESOURCE and at that path + "/admin", their RFC 9728 metadata
// under /.well-known/oauth-protected-resource, GET /livez (always 200) and
// GET /readyz (200 once the issuer's keys are loaded, else 503); it logs
// JSON to stderr and shuts down gracefully on SIGTERM or interrupt.
//
// With -demo it runs everything in-process on 127.0.0.1 instead — an
// authtest authorization server, the MCP server and MCP clients that know
// only the server's URL and their credentials — prints what the clients
// see, and exits. That is for trying the example only.
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

	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/examples/mcp/mcpserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mcp:", err)
		stop()
		os.Exit(1)
	}
}

// run serves until ctx ends, then shuts down gracefully; with -demo it
// runs the demo and returns.
func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	flags := flag.NewFlagSet("mcp", flag.ContinueOnError)
	demo := flags.Bool("demo", false, "run an authtest issuer, the server and clients in-process, print what the clients see, and exit")
	if err := flags.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cmp.Or(getenv("LOG_LEVEL"), "info"))); err != nil {
		return fmt.Errorf("LOG_LEVEL: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if *demo {
		return runDemo(ctx, log, out)
	}

	issuer, resource := getenv("BEARERKIT_ISSUER"), getenv("BEARERKIT_RESOURCE")
	if issuer == "" || resource == "" {
		return errors.New("BEARERKIT_ISSUER and BEARERKIT_RESOURCE must be set (or pass -demo to try the example)")
	}
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

	h, err := newHandler(v, resource, issuer, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cmp.Or(getenv("ADDR"), ":8080"))
	if err != nil {
		return err
	}
	srv := newHTTPServer(h, log)
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

// newHandler serves the MCP endpoints with the probes beside them. The
// probes are outside the protected resources, so they need no token.
func newHandler(v *core.Verifier, resource, issuer string, log *slog.Logger) (http.Handler, error) {
	h, err := mcpserver.NewHandler(mcpserver.Config{
		Verifier:             v,
		Resource:             resource,
		AuthorizationServers: []string{issuer},
		Logger:               log,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("GET /readyz", core.ReadinessHandler(v))
	mux.Handle("/", h)
	return mux, nil
}

func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
