package main

import (
	"testing"

	"github.com/bearerkit/bearerkit/internal/adaptertest"
)

func TestHandler(t *testing.T) {
	srv, v := adaptertest.Verifier(t)
	h := newHandler(v, "orders-api")
	adaptertest.Expect(t, h, "GET", "/health", "", 200)
	adaptertest.Expect(t, h, "GET", "/orders", "", 401)
	adaptertest.Expect(t, h, "GET", "/orders", srv.Token("orders-api"), 403)
	adaptertest.Expect(t, h, "GET", "/orders", srv.Token("billing-api", "orders:read"), 401)
	adaptertest.Expect(t, h, "GET", "/orders", srv.Token("orders-api", "orders:read"), 200)
}
