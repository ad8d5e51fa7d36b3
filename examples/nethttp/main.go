// Command nethttp is a net/http API protected by bearerkit.
//
// Configure it for your issuer with environment variables:
//
//	BEARERKIT_ISSUER=https://auth.example.com/ BEARERKIT_AUDIENCE=orders-api go run ./examples/nethttp
//
// Without BEARERKIT_ISSUER it starts an embedded authtest issuer (for demos
// only) and prints a token to try with curl.
package main

import (
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/examples/internal/demo"
)

func main() {
	s := demo.FromEnv()
	defer s.Close()
	v, err := core.New(core.Config{Issuer: s.Issuer})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	srv := &http.Server{Addr: s.Addr, Handler: newHandler(v, s.Audience), ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// newHandler serves GET /orders (scope orders:read) and GET /health (open).
func newHandler(v *core.Verifier, audience string) http.Handler {
	api := http.NewServeMux()
	api.Handle("GET /orders", core.RequireScope("orders:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := core.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "orders for %s\n", claims.ClientID)
	})))
	root := http.NewServeMux()
	root.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	root.Handle("/", core.Middleware(v, audience)(api))
	return root
}
