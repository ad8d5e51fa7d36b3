// Package authtest holds the README's authtest snippet, compiled and run.
package authtest

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

// readme:begin authtest
func TestOrdersAPI(t *testing.T) {
	srv := authtest.NewServer() // an issuer on loopback: discovery, JWKS, token endpoint
	defer srv.Close()
	v, err := core.New(core.Config{Issuer: srv.Issuer})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	api := core.Middleware(v, "orders-api")(core.RequireScope("orders:read")(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })))

	claims := srv.Claims("orders-api", "orders:read") // a typical access token's claims
	claims["exp"] = time.Now().Add(-time.Hour).Unix() // made expired
	expired, err := srv.Mint(claims)
	if err != nil {
		t.Fatal(err)
	}
	for token, want := range map[string]int{
		srv.Token("orders-api", "orders:read"):  http.StatusOK,
		srv.Token("orders-api", "orders:write"): http.StatusForbidden,
		srv.Token("billing-api", "orders:read"): http.StatusUnauthorized,
		expired:                                 http.StatusUnauthorized,
	} {
		req := httptest.NewRequest(http.MethodGet, "/orders", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("status %d, want %d", rec.Code, want)
		}
	}
	// Also: srv.RotateKey("ES256"), srv.SetJWKSFault(&authtest.Fault{Status: 503}).
}

// readme:end
