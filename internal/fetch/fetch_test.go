package fetch

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func TestDiscoveryURLs(t *testing.T) {
	for iss, want := range map[string][]string{
		"https://a.example":          {"https://a.example/.well-known/openid-configuration", "https://a.example/.well-known/oauth-authorization-server"},
		"https://a.example/":         {"https://a.example/.well-known/openid-configuration", "https://a.example/.well-known/oauth-authorization-server"},
		"https://a.example/tenant/1": {"https://a.example/tenant/1/.well-known/openid-configuration", "https://a.example/.well-known/oauth-authorization-server/tenant/1"},
	} {
		if got := DiscoveryURLs(iss); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", iss, got, want)
		}
	}
}

// Discover tries the RFC 8414 document only when the OpenID Connect one is
// not served, stops at a server in trouble, and refuses a document naming
// another issuer.
func TestDiscover(t *testing.T) {
	var issuer string
	status := map[string]int{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code := status[r.URL.Path]; code != 0 {
			w.WriteHeader(code)
			return
		}
		w.Write([]byte(`{"issuer":"` + issuer + `","jwks_uri":"https://k.example/jwks","token_endpoint":"https://k.example/token"}`))
	}))
	defer ts.Close()
	issuer = ts.URL
	c := Client(nil)
	md, err := Discover(context.Background(), c, issuer, 1<<20)
	if err != nil || md.JWKSURI != "https://k.example/jwks" || md.TokenEndpoint != "https://k.example/token" {
		t.Fatalf("%+v, %v", md, err)
	}
	status["/.well-known/openid-configuration"] = 404
	if _, err := Discover(context.Background(), c, issuer, 1<<20); err != nil {
		t.Fatalf("falling back to RFC 8414: %v", err)
	}
	status["/.well-known/openid-configuration"] = 503
	if _, err := Discover(context.Background(), c, issuer, 1<<20); err == nil || !IsTemporary(err) {
		t.Fatalf("503: %v, want a temporary error", err)
	}
	status = map[string]int{}
	_, err = Discover(context.Background(), c, issuer+"/", 1<<20)
	if err == nil || IsTemporary(err) || !strings.Contains(err.Error(), "near miss") {
		t.Fatalf("issuer with a slash: %v", err)
	}
	if _, err := Discover(context.Background(), c, issuer, 10); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("body over the cap: %v", err)
	}
}

func TestCheckURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://a.example/x?y=1": true, "http://127.0.0.1:1/x": true, "http://localhost/x": true, "http://[::1]/": true,
		"http://a.example/x": false, "https://u@a.example": false, "https://a.example/#": false, "ftp://a.example": false,
		"//a.example": false, "https:///x": false, "": false,
	} {
		if err := CheckURL(raw, false); (err == nil) != ok {
			t.Errorf("CheckURL(%q) = %v", raw, err)
		}
	}
	if CheckURL("http://a.example/x", true) != nil {
		t.Error("insecure http refused")
	}
	if CheckIssuer("https://a.example/t?x=1", false) == nil || CheckIssuer("https://a.example/t?", false) == nil {
		t.Error("issuer with a query accepted")
	}
}
