package core_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

// Verify a token from an issuer found by discovery.
func ExampleVerifier_Verify() {
	issuer := authtest.NewServer() // stands in for your authorization server
	defer issuer.Close()

	v, err := core.New(core.Config{Issuer: issuer.Issuer})
	if err != nil {
		panic(err)
	}
	defer v.Close()

	claims, err := v.Verify(context.Background(), issuer.Token("orders-api", "orders:read"), "orders-api")
	if err != nil {
		panic(err)
	}
	fmt.Println(claims.Subject, claims.Scopes, claims.HasScopes("orders:read"))

	_, err = v.Verify(context.Background(), issuer.Token("billing-api"), "orders-api")
	fmt.Println(errors.Is(err, core.ErrInvalidToken), core.ReasonOf(err))
	// Output:
	// test-subject [orders:read] true
	// true audience
}

// Protect a net/http handler and require a scope.
func ExampleMiddleware() {
	issuer := authtest.NewServer()
	defer issuer.Close()
	v, err := core.New(core.Config{Issuer: issuer.Issuer})
	if err != nil {
		panic(err)
	}
	defer v.Close()

	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := core.ClaimsFromContext(r.Context())
		fmt.Fprintln(w, "orders for", claims.ClientID)
	})
	api := core.Middleware(v, "orders-api")(core.RequireScope("orders:read")(orders))

	for _, token := range []string{"", issuer.Token("orders-api"), issuer.Token("orders-api", "orders:read")} {
		req := httptest.NewRequest("GET", "/orders", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	// Output:
	// 401 Bearer realm="api"
	// 403 Bearer realm="api", error="insufficient_scope", scope="orders:read"
	// 200
}
