package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/bearerkit/bearerkit/dpop"
)

// A client proves possession of its key with each request; the resource
// server checks the proof against the request, the access token and the
// token's cnf.jkt, and refuses a replay.
func Example() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	client, _ := dpop.NewSigner(key)
	token := "token-bound-to-the-key" // its cnf.jkt is client.Thumbprint()

	proof, _ := client.Proof("GET", "https://api.example.com/orders?page=2", token, "")

	server, _ := dpop.NewVerifier(dpop.Config{})
	req := dpop.Request{
		Method:      "GET",
		URL:         &url.URL{Scheme: "https", Host: "api.example.com", Path: "/orders", RawQuery: "page=2"},
		AccessToken: token,
		JKT:         client.Thumbprint(),
	}
	p, err := server.Verify(context.Background(), proof, req)
	fmt.Println(err == nil && p.JKT == client.Thumbprint())

	_, err = server.Verify(context.Background(), proof, req)
	fmt.Println(errors.Is(err, dpop.ErrInvalidProof), err)
	// Output:
	// true
	// true dpop: jti_replayed
}

// With server nonces, a proof without a valid nonce is refused with a
// fresh one for the DPoP-Nonce header; the client retries with it.
func ExampleNonces() {
	secret := make([]byte, 32)
	rand.Read(secret)
	nonces, _ := dpop.NewNonces(secret, time.Minute, nil)
	server, _ := dpop.NewVerifier(dpop.Config{Nonces: nonces})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	client, _ := dpop.NewSigner(key)
	req := dpop.Request{Method: "POST", URL: &url.URL{Scheme: "https", Host: "as.example.com", Path: "/token"}}

	proof, _ := client.Proof("POST", "https://as.example.com/token", "", "")
	_, err := server.Verify(context.Background(), proof, req)
	var de *dpop.Error
	if errors.As(err, &de) && errors.Is(err, dpop.ErrUseNonce) {
		fmt.Println("use_dpop_nonce")
		proof, _ = client.Proof("POST", "https://as.example.com/token", "", de.Nonce)
		_, err = server.Verify(context.Background(), proof, req)
	}
	fmt.Println(err)
	// Output:
	// use_dpop_nonce
	// <nil>
}
