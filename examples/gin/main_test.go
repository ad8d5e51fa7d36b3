package main

import (
	"testing"

	"github.com/bearerkit/bearerkit/internal/adaptertest"
)

func TestRouter(t *testing.T) {
	srv, v := adaptertest.Verifier(t)
	r := newRouter(v, "orders-api")
	adaptertest.Expect(t, r, "GET", "/health", "", 200)
	adaptertest.Expect(t, r, "GET", "/orders", "", 401)
	adaptertest.Expect(t, r, "GET", "/orders", srv.Token("orders-api", "orders:write"), 403)
	adaptertest.Expect(t, r, "GET", "/orders", srv.Token("orders-api", "orders:read"), 200)
	adaptertest.Expect(t, r, "DELETE", "/orders/o-1", srv.Token("orders-api", "orders:read"), 403)
	adaptertest.Expect(t, r, "DELETE", "/orders/o-1", srv.Token("orders-api", "orders:admin"), 204)
}
