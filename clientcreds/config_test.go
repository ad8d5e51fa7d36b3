package clientcreds

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

func validConfig() Config {
	return Config{ClientID: testID, ClientSecret: testSecret, TokenURL: "https://auth.example.com/oauth/token"}
}

func TestNewValidation(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	tests := []struct {
		name   string
		change func(*Config)
		ok     bool
	}{
		{"valid", func(*Config) {}, true},
		{"issuer instead of token URL", func(c *Config) { c.TokenURL, c.Issuer = "", "https://auth.example.com" }, true},
		{"client_secret_post", func(c *Config) { c.AuthMethod = ClientSecretPost }, true},
		{"private_key_jwt", func(c *Config) { c.AuthMethod, c.ClientSecret, c.PrivateKey = PrivateKeyJWT, "", ec }, true},
		{"everything tuned", func(c *Config) {
			c.Scopes, c.Audience, c.Resource = []string{"a:b", "c"}, []string{"api"}, []string{"urn:x:y"}
			c.EndpointParams = url.Values{"organization": {"acme"}}
			c.Origins = []string{"https://api.example.com", "http://127.0.0.1:8080/"}
			c.RefreshLead, c.MaxAttempts, c.MinBackoff, c.MaxBackoff, c.Timeout = time.Minute, 5, time.Second, time.Second, time.Second
		}, true},
		{"no client id", func(c *Config) { c.ClientID = "" }, false},
		{"no token URL or issuer", func(c *Config) { c.TokenURL = "" }, false},
		{"bad issuer", func(c *Config) { c.TokenURL, c.Issuer = "", "http://auth.example.com" }, false},
		{"no secret", func(c *Config) { c.ClientSecret = "" }, false},
		{"unknown method", func(c *Config) { c.AuthMethod = "tls_client_auth" }, false},
		{"key with basic", func(c *Config) { c.PrivateKey = ec }, false},
		{"jwt without key", func(c *Config) { c.AuthMethod, c.ClientSecret = PrivateKeyJWT, "" }, false},
		{"jwt with secret", func(c *Config) { c.AuthMethod, c.PrivateKey = PrivateKeyJWT, ec }, false},
		{"jwt with P-224", func(c *Config) { c.AuthMethod, c.ClientSecret, c.PrivateKey = PrivateKeyJWT, "", ec224 }, false},
		{"jwt with RSA 1024", func(c *Config) { c.AuthMethod, c.ClientSecret, c.PrivateKey = PrivateKeyJWT, "", rsa1024 }, false},
		{"empty scope", func(c *Config) { c.Scopes = []string{""} }, false},
		{"scope with space", func(c *Config) { c.Scopes = []string{"a b"} }, false},
		{"empty audience", func(c *Config) { c.Audience = []string{""} }, false},
		{"relative resource", func(c *Config) { c.Resource = []string{"/orders"} }, false},
		{"resource with fragment", func(c *Config) { c.Resource = []string{"https://a.example/#x"} }, false},
		{"audience twice", func(c *Config) {
			c.Audience, c.EndpointParams = []string{"a"}, url.Values{"audience": {"b"}}
		}, false},
		{"resource twice", func(c *Config) {
			c.Resource, c.EndpointParams = []string{"https://a.example"}, url.Values{"resource": {"https://b.example"}}
		}, false},
		{"origin with path", func(c *Config) { c.Origins = []string{"https://api.example.com/v1"} }, false},
		{"origin without scheme", func(c *Config) { c.Origins = []string{"api.example.com"} }, false},
		{"negative attempts", func(c *Config) { c.MaxAttempts = -1 }, false},
		{"negative lead", func(c *Config) { c.RefreshLead = -time.Second }, false},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, false},
		{"min over max backoff", func(c *Config) { c.MinBackoff, c.MaxBackoff = time.Minute, time.Second }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			tt.change(&cfg)
			c, err := New(cfg)
			if tt.ok {
				if err != nil || c == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || c != nil {
				t.Fatalf("New = %v, %v; want ErrInvalidConfig", c, err)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Fatalf("error shows the secret: %v", err)
			}
		})
	}
}

func TestH8EndpointParamsCannotOverride(t *testing.T) {
	for _, p := range []string{"grant_type", "client_id", "client_secret", "scope",
		"client_assertion", "client_assertion_type", "Grant_Type", "SCOPE"} {
		cfg := validConfig()
		cfg.EndpointParams = url.Values{p: {"x"}}
		if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("EndpointParams[%q]: err = %v, want ErrInvalidConfig", p, err)
		}
	}
	// Allowed extras reach the server, and the caller's map is not kept.
	srv := newIssuer(t, nil)
	cfg := basicConfig(srv.TokenURL(), nil)
	cfg.EndpointParams = url.Values{"audience": {"billing-api"}}
	c, _ := newClient(t, cfg)
	cfg.EndpointParams.Set("audience", "changed-later")
	tok, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	verify(t, srv, nil, tok, "billing-api")
}

func TestH9TokenURLMustBeHTTPSUnlessLoopback(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://auth.example.com/token", true},
		{"http://127.0.0.1:8080/token", true},
		{"http://127.42.0.1/token", true},
		{"http://[::1]:9000/token", true},
		{"http://localhost/token", true},
		{"http://LOCALHOST:80/token", true},
		{"http://auth.example.com/token", false},
		{"http://10.0.0.1/token", false},
		{"http://localhost.example.com/token", false},
		{"http://127.0.0.1.nip.io/token", false},
		{"ftp://auth.example.com/token", false},
		{"/token", false},
		{"https://user:pw@auth.example.com/token", false},
		{"https://auth.example.com/token#frag", false},
		{"https://auth example.com/token", false},
	}
	for _, tt := range tests {
		cfg := validConfig()
		cfg.TokenURL = tt.url
		_, err := New(cfg)
		if (err == nil) != tt.ok {
			t.Errorf("TokenURL %q: err = %v, want ok=%v", tt.url, err, tt.ok)
		}
		if err != nil && (!errors.Is(err, ErrInvalidConfig) || strings.Contains(err.Error(), "pw@")) {
			t.Errorf("TokenURL %q: err = %v", tt.url, err)
		}
	}
}

func TestH1SecretNeverShown(t *testing.T) {
	key, _ := authtest.NewKey("ES256")
	raw, err := key.Private.(*ecdsa.PrivateKey).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{testSecret, url.QueryEscape(testSecret), new(big.Int).SetBytes(raw).String(), fmt.Sprintf("%x", raw)}
	check := func(t *testing.T, what, s string) {
		t.Helper()
		for _, sec := range secrets {
			if strings.Contains(s, sec) {
				t.Fatalf("%s shows a secret: %s", what, s)
			}
		}
	}

	t.Run("config and client output", func(t *testing.T) {
		cfg := validConfig()
		cfg.EndpointParams = url.Values{"api_key": {testSecret}}
		jwtCfg := Config{ClientID: testID, TokenURL: cfg.TokenURL, AuthMethod: PrivateKeyJWT, PrivateKey: key.Private}
		c, _ := newClient(t, cfg)
		type wrapper struct{ Cfg Config }
		for _, v := range []any{cfg, &cfg, jwtCfg, c, wrapper{cfg}} {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
				check(t, verb, fmt.Sprintf(verb, v))
			}
			var buf bytes.Buffer
			slog.New(slog.NewTextHandler(&buf, nil)).Info("cfg", "v", v)
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("cfg", "v", v)
			check(t, "slog", buf.String())
			if b, err := json.Marshal(v); err == nil {
				check(t, "json", string(b))
			}
		}
		if s := fmt.Sprintf("%+v", cfg); !strings.Contains(s, testID) || !strings.Contains(s, redacted) || !strings.Contains(s, "api_key") {
			t.Fatalf("%%+v should still describe the config: %s", s)
		}
	})

	t.Run("token endpoint errors", func(t *testing.T) {
		// The endpoint echoes what it received, as a careless server might.
		ts := newCountingServer(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			_, pass, _ := r.BasicAuth()
			echo := pass + " " + r.PostForm.Get("client_secret") + " " + r.PostForm.Get("client_assertion")
			w.Header().Set("X-Echo", echo)
			w.Header().Set("Set-Cookie", "session="+echo)
			body, _ := json.Marshal(map[string]string{"error": "invalid_client", "error_description": "bad: " + echo})
			writeJSON(w, http.StatusUnauthorized, string(body))
		})
		jwtKey, _ := authtest.NewKey("ES256")
		for _, cfg := range []Config{
			basicConfig(ts.URL, nil),
			{ClientID: testID, ClientSecret: testSecret, TokenURL: ts.URL, AuthMethod: ClientSecretPost},
			{ClientID: testID, TokenURL: ts.URL, AuthMethod: PrivateKeyJWT, PrivateKey: jwtKey.Private},
		} {
			c, _ := newClient(t, cfg)
			_, err := c.Token(context.Background())
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
				t.Fatalf("err = %v", err)
			}
			check(t, "error", err.Error())
			check(t, "body", string(re.Body))
			check(t, "description", re.ErrorDescription)
			check(t, "%+v of RetrieveError", fmt.Sprintf("%+v", *re))
			if strings.Contains(re.ErrorDescription, "eyJ") || strings.Contains(string(re.Body), "eyJ") {
				t.Fatalf("assertion echoed: %s", re.Body)
			}
			if echo := re.Response.Header.Get("X-Echo"); re.Response.Header.Get("Set-Cookie") != "" ||
				!strings.Contains(echo, redacted) || strings.Contains(echo, "eyJ") {
				t.Fatalf("response header %v", re.Response.Header)
			}
			if r := re.Response.Request; r == nil || len(r.Header) != 0 || r.Body != nil || r.URL.String() != ts.URL {
				t.Fatalf("request in RetrieveError: %+v", r)
			}
		}
	})

	t.Run("authtest rejection", func(t *testing.T) {
		srv := newIssuer(t, nil)
		cfg := basicConfig(srv.TokenURL(), nil)
		cfg.ClientID = "unknown"
		c, _ := newClient(t, cfg)
		_, err := c.Token(context.Background())
		check(t, "error", err.Error())
		check(t, "error %+v", fmt.Sprintf("%+v", err))
	})
}

// core and clientcreds apply one URL policy to an issuer used for
// discovery: whatever one refuses, the other refuses too.
func TestIssuerRulesMatchCore(t *testing.T) {
	for _, iss := range []string{
		"https://a.example", "https://a.example/tenant/", "http://127.0.0.1:8080", "http://[::1]/x",
		"https://a.example/t?x=1", "https://a.example/t?", "https://a.example/#f", "https://u:p@a.example",
		"http://a.example", "ftp://a.example", "a.example", "", "https://", "/relative",
	} {
		_, ccErr := New(Config{ClientID: testID, ClientSecret: testSecret, Issuer: iss})
		_, coreErr := core.New(core.Config{Issuer: iss})
		if (ccErr == nil) != (coreErr == nil) {
			t.Errorf("issuer %q: clientcreds %v, core %v", iss, ccErr, coreErr)
		}
	}
	if _, err := New(Config{ClientID: testID, ClientSecret: testSecret, Issuer: "https://a.example/t?x=1"}); err == nil {
		t.Error("an issuer with a query was accepted")
	}
}
