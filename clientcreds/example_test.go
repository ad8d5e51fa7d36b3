package clientcreds_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/clientcreds"
	"github.com/bearerkit/bearerkit/core"
)

// Obtain a token for the orders API, then call the API with it.
func Example() {
	// An authorization server and an API protected by core, both in-process.
	issuer := authtest.NewServer(authtest.WithClient(authtest.Client{
		ID: "reporting", Secret: "s3cret", Scopes: []string{"orders:read"},
	}))
	defer issuer.Close()
	v, err := core.New(core.Config{Issuer: issuer.Issuer})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	api := httptest.NewServer(core.Middleware(v, "orders-api")(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			claims, _ := core.ClaimsFromContext(r.Context())
			fmt.Fprintf(w, "orders for %s with %v", claims.ClientID, claims.Scopes)
		})))
	defer api.Close()

	cc, err := clientcreds.New(clientcreds.Config{
		ClientID:     "reporting",
		ClientSecret: "s3cret",
		TokenURL:     issuer.TokenURL(),
		Scopes:       []string{"orders:read"},
		Audience:     []string{"orders-api"},
	})
	if err != nil {
		panic(err)
	}

	tok, err := cc.Token(context.Background())
	if err != nil {
		panic(err)
	}
	claims, err := v.Verify(context.Background(), tok, "orders-api")
	if err != nil {
		panic(err)
	}
	fmt.Println("token for", claims.Audience, "issued to", claims.ClientID)

	resp, err := cc.HTTPClient().Get(api.URL + "/orders")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	fmt.Println("token requests:", issuer.TokenRequests())
	// Output:
	// token for [orders-api] issued to reporting
	// 200 orders for reporting with [orders:read]
	// token requests: 1
}
