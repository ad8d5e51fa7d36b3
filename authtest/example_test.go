package authtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/bearerkit/bearerkit/authtest"
)

// Request a token with the client credentials grant.
func ExampleNewServer() {
	srv := authtest.NewServer(
		authtest.WithClient(authtest.Client{ID: "reporting", Secret: "s3cret", Scopes: []string{"orders:read"}}),
	)
	defer srv.Close()

	form := url.Values{"grant_type": {"client_credentials"}, "audience": {"orders-api"}}
	req, _ := http.NewRequest("POST", srv.TokenURL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("reporting", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var body struct {
		TokenType string `json:"token_type"`
		ExpiresIn int    `json:"expires_in"`
		Scope     string `json:"scope"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	fmt.Println(resp.StatusCode, body.TokenType, body.ExpiresIn, body.Scope)
	// Output: 200 Bearer 3600 orders:read
}

// Mint tokens directly, and rotate the signing key.
func ExampleServer_Mint() {
	srv := authtest.NewServer(authtest.WithAlgorithm("ES256"))
	defer srv.Close()

	claims := srv.Claims("orders-api", "orders:read")
	claims["tenant"] = "acme"
	token, err := srv.Mint(claims)
	fmt.Println(err == nil, strings.Count(token, "."))

	old := srv.SigningKey()
	next, _ := srv.RotateKey("EdDSA")
	fmt.Println(len(srv.Keys()), next.ID != old.ID, srv.SigningKey().Alg)
	// Output:
	// true 2
	// 2 true EdDSA
}
