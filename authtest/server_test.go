package authtest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
	Error       string `json:"error"`
}

func post(t *testing.T, srv *authtest.Server, form url.Values, basicUser, basicPass string) (int, tokenResponse, http.Header) {
	t.Helper()
	req, err := http.NewRequest("POST", srv.TokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body tokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body, resp.Header
}

func TestTokenEndpoint(t *testing.T) {
	signer, err := authtest.NewKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	srv := authtest.NewServer(
		authtest.WithDefaultAudience("default-api"),
		authtest.WithClient(authtest.Client{ID: "svc:a b", Secret: "p%+ss:é", Scopes: []string{"orders:read", "orders:write"}}),
		authtest.WithClient(authtest.Client{ID: "jwt-client", PublicKey: signer.Public(), Scopes: []string{"orders:read"}}),
	)
	defer srv.Close()
	v, err := core.New(core.Config{Issuer: srv.Issuer, StrictRFC9068: true})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	grant := func(extra url.Values) url.Values {
		f := url.Values{"grant_type": {"client_credentials"}}
		for k, vs := range extra {
			f[k] = vs
		}
		return f
	}

	// client_secret_basic with characters that need form encoding.
	code, body, _ := post(t, srv, grant(url.Values{"scope": {"orders:read"}, "audience": {"orders-api"}}), "svc:a b", "p%+ss:é")
	if code != 200 || body.TokenType != "Bearer" || body.ExpiresIn != 3600 || body.Scope != "orders:read" {
		t.Fatalf("basic: %d %+v", code, body)
	}
	c, err := v.Verify(t.Context(), body.AccessToken, "orders-api")
	if err != nil {
		t.Fatal(err)
	}
	if c.ClientID != "svc:a b" || strings.Join(c.Scopes, " ") != "orders:read" {
		t.Errorf("claims %+v", c)
	}

	// client_secret_post, all scopes by default, resource indicators.
	code, body, _ = post(t, srv, grant(url.Values{"client_id": {"svc:a b"}, "client_secret": {"p%+ss:é"}, "resource": {"https://a.example/", "https://b.example/"}}), "", "")
	if code != 200 || body.Scope != "orders:read orders:write" {
		t.Fatalf("post: %d %+v", code, body)
	}
	if c, err := v.Verify(t.Context(), body.AccessToken, "https://b.example/"); err != nil || len(c.Audience) != 2 {
		t.Fatalf("resource audience: %v %+v", err, c)
	}

	// Default audience.
	_, body, _ = post(t, srv, grant(nil), "svc:a b", "p%+ss:é")
	if _, err := v.Verify(t.Context(), body.AccessToken, "default-api"); err != nil {
		t.Fatalf("default audience: %v", err)
	}

	// private_key_jwt (RFC 7523).
	assertion := func(aud string, jti string) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: signer.Private}, nil)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		tok, err := jwt.Signed(s).Claims(jwt.Claims{Issuer: "jwt-client", Subject: "jwt-client", Audience: jwt.Audience{aud},
			ID: jti, Expiry: jwt.NewNumericDate(now.Add(time.Minute)), IssuedAt: jwt.NewNumericDate(now)}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	pkj := func(a string) url.Values {
		return grant(url.Values{"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}, "audience": {"orders-api"}})
	}
	a1 := assertion(srv.TokenURL(), "one")
	if code, body, _ := post(t, srv, pkj(a1), "", ""); code != 200 || body.AccessToken == "" {
		t.Fatalf("private_key_jwt: %d %+v", code, body)
	}
	if code, body, _ := post(t, srv, pkj(a1), "", ""); code != 401 || body.Error != "invalid_client" {
		t.Errorf("replayed assertion: %d %+v", code, body)
	}
	if code, _, _ := post(t, srv, pkj(assertion("https://elsewhere.example/token", "two")), "", ""); code != 401 {
		t.Errorf("assertion for another audience: %d", code)
	}

	errorsCases := []struct {
		name       string
		form       url.Values
		user, pass string
		status     int
		code       string
	}{
		{"wrong secret", grant(nil), "svc:a b", "nope", 401, "invalid_client"},
		{"unknown client", grant(nil), "ghost", "x", 401, "invalid_client"},
		{"no authentication", grant(url.Values{"client_id": {"svc:a b"}}), "", "", 400, "invalid_request"},
		{"two methods", grant(url.Values{"client_secret": {"p%+ss:é"}}), "svc:a b", "p%+ss:é", 400, "invalid_request"},
		{"bad grant", url.Values{"grant_type": {"password"}}, "svc:a b", "p%+ss:é", 400, "unsupported_grant_type"},
		{"scope not allowed", grant(url.Values{"scope": {"orders:read admin"}}), "svc:a b", "p%+ss:é", 400, "invalid_scope"},
		{"relative resource", grant(url.Values{"resource": {"orders"}}), "svc:a b", "p%+ss:é", 400, "invalid_target"},
		{"repeated grant_type", url.Values{"grant_type": {"client_credentials", "client_credentials"}}, "svc:a b", "p%+ss:é", 400, "invalid_request"},
	}
	for _, tc := range errorsCases {
		code, body, hdr := post(t, srv, tc.form, tc.user, tc.pass)
		if code != tc.status || body.Error != tc.code {
			t.Errorf("%s: %d %q, want %d %q", tc.name, code, body.Error, tc.status, tc.code)
		}
		if tc.code == "invalid_client" && tc.user != "" && hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no Basic challenge", tc.name)
		}
	}
	if got := srv.TokenRequests(); got != 6+len(errorsCases) {
		t.Errorf("TokenRequests = %d", got)
	}
}

func TestFaults(t *testing.T) {
	srv := authtest.NewServer()
	defer srv.Close()
	srv.SetJWKSFault(&authtest.Fault{Status: 503, Body: []byte("down"), Header: http.Header{"Retry-After": {"7"}}})
	resp, err := srv.Client().Get(srv.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "7" || srv.JWKSRequests() != 1 {
		t.Errorf("fault: %d %v %d", resp.StatusCode, resp.Header, srv.JWKSRequests())
	}
	srv.SetJWKSFault(nil)
	srv.RemoveKey(srv.SigningKey().ID)
	resp, err = srv.Client().Get(srv.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	var set struct{ Keys []json.RawMessage }
	_ = json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(set.Keys) != 0 {
		t.Errorf("after removal: %d, %d keys", resp.StatusCode, len(set.Keys))
	}
}
