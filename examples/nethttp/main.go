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
	"cmp"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

func main() {
	addr := cmp.Or(os.Getenv("ADDR"), "127.0.0.1:8080")
	audience := cmp.Or(os.Getenv("BEARERKIT_AUDIENCE"), "orders-api")
	issuer := os.Getenv("BEARERKIT_ISSUER")
	if issuer == "" {
		demo := authtest.NewServer()
		defer demo.Close()
		issuer = demo.Issuer
		fmt.Printf("demo issuer %s\ntry: curl -H 'Authorization: Bearer %s' http://%s/orders\n", issuer, demo.Token(audience, "orders:read"), addr)
	}
	v, err := core.New(core.Config{Issuer: issuer})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	srv := &http.Server{Addr: addr, Handler: newHandler(v, audience), ReadHeaderTimeout: 5 * time.Second}
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
