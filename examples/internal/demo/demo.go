// Package demo reads the example servers' settings from the environment:
// BEARERKIT_ISSUER (a real issuer; without it an embedded authtest issuer,
// for demos only, is started and a token to try is printed),
// BEARERKIT_AUDIENCE (default "orders-api") and ADDR (default
// 127.0.0.1:8080).
package demo

import (
	"cmp"
	"fmt"
	"os"

	"github.com/bearerkit/bearerkit/authtest"
)

// Settings are what an example server needs.
type Settings struct {
	Issuer, Audience, Addr string
	// Close stops the embedded issuer, if one was started.
	Close func()
}

// FromEnv reads the settings, starting an embedded issuer when no real one
// is configured.
func FromEnv() Settings {
	s := Settings{
		Issuer:   os.Getenv("BEARERKIT_ISSUER"),
		Audience: cmp.Or(os.Getenv("BEARERKIT_AUDIENCE"), "orders-api"),
		Addr:     cmp.Or(os.Getenv("ADDR"), "127.0.0.1:8080"),
		Close:    func() {},
	}
	if s.Issuer == "" {
		srv := authtest.NewServer()
		s.Issuer, s.Close = srv.Issuer, srv.Close
		fmt.Printf("demo issuer %s (authtest, for demos only)\ntry: curl -H 'Authorization: Bearer %s' http://%s/orders\n",
			srv.Issuer, srv.Token(s.Audience, "orders:read"), s.Addr)
	}
	return s
}
