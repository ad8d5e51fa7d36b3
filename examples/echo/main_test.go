package main

import (
	"testing"

	"github.com/bearerkit/bearerkit/internal/adaptertest"
)

func TestServer(t *testing.T) {
	srv, v := adaptertest.Verifier(t)
	e := newServer(v, "orders-api")
	adaptertest.Expect(t, e, "GET", "/health", "", 200)
	adaptertest.Expect(t, e, "GET", "/health/", "", 401)
	adaptertest.Expect(t, e, "GET", "/orders", "", 401)
	adaptertest.Expect(t, e, "GET", "/orders", srv.Token("orders-api"), 403)
	adaptertest.Expect(t, e, "GET", "/orders", srv.Token("orders-api", "orders:read"), 200)
}
