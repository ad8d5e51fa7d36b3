// Command nethttp holds the README's net/http snippet, compiled.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/bearerkit/bearerkit/core"
)

// readme:begin nethttp
func main() {
	v, err := core.New(core.Config{Issuer: "https://auth.example.com/"}) // no I/O yet
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := v.Prefetch(ctx); err != nil { // optional: fail fast at start-up
		log.Print(err) // /readyz answers 503 until the keys load
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("GET /readyz", core.ReadinessHandler(v))
	mux.Handle("GET /orders", core.RequireScope("orders:read")(http.HandlerFunc(listOrders)))

	// Skip decides on the pattern the request is routed to, never the raw path.
	probes := func(r *http.Request) bool { return r.Pattern == "GET /livez" || r.Pattern == "GET /readyz" }
	handler := core.MiddlewareWithOptions(v, core.Options{Skip: probes}, "orders-api")(mux)
	log.Print(http.ListenAndServe(":8080", handler))
}

func listOrders(w http.ResponseWriter, r *http.Request) {
	claims, _ := core.ClaimsFromContext(r.Context())
	fmt.Fprintln(w, "orders for", claims.ClientID)
}

// readme:end
