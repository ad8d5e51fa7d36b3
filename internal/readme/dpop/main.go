// Command dpop holds the README's sender-constrained token snippets,
// compiled.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"log"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/bearerkit/bearerkit/clientcreds"
	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/dpop"
)

func main() {
	v, err := core.New(core.Config{Issuer: "https://auth.example.com/"})
	if err != nil {
		log.Fatal(err)
	}
	h, err := protect(v, http.NotFoundHandler(), []byte(os.Getenv("DPOP_NONCE_SECRET")))
	if err != nil {
		log.Fatal(err)
	}
	go func() { log.Print(http.ListenAndServe(":8080", h)) }()
	if _, err := client(os.Getenv("CLIENT_SECRET")); err != nil {
		log.Fatal(err)
	}
}

// readme:begin dpop-server
func protect(v *core.Verifier, api http.Handler, nonceSecret []byte) (http.Handler, error) {
	nonces, err := dpop.NewNonces(nonceSecret, time.Minute, nil) // optional: server nonces (§9)
	if err != nil {
		return nil, err
	}
	proofs, err := dpop.NewVerifier(dpop.Config{
		Nonces: nonces,
		// Replicas share replay state: redisstore.New(redis.NewClient(…), "")
		// from github.com/bearerkit/bearerkit/dpop/redisstore.
	})
	if err != nil {
		return nil, err
	}
	external, _ := url.Parse("https://api.example.com") // the URL clients sign, behind the proxy
	opts := core.Options{
		DPoP: &core.DPoP{Verifier: proofs, ExternalURL: external, Required: false},
		// mTLS-bound tokens need no setting over a direct TLS connection; behind
		// a TLS-terminating proxy that sets the header on every request:
		ClientCertificate: core.ClientCertificateFromHeader("X-Client-Cert"),
	}
	return core.MiddlewareWithOptions(v, opts, "orders-api")(api), nil
}

// readme:end

// readme:begin dpop-client
func client(secret string) (*http.Client, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // or a key from your KMS
	if err != nil {
		return nil, err
	}
	cc, err := clientcreds.New(clientcreds.Config{
		ClientID: "reporting", ClientSecret: secret,
		Issuer:  "https://auth.example.com/",
		DPoPKey: key, // tokens bound to the key; every request carries a fresh proof
		// For mTLS instead: AuthMethod: clientcreds.TLSClientAuth, Certificate: &cert.
	})
	if err != nil {
		return nil, err
	}
	return cc.HTTPClient(), nil // sends "Authorization: DPoP …" and "DPoP: <proof>"
}

// readme:end
