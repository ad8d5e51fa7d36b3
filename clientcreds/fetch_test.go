package clientcreds

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/bearerkit/bearerkit/authtest"
)

// Each client authentication method is accepted by authtest, and the
// request really used that method.
func TestAuthMethods(t *testing.T) {
	for _, method := range []AuthMethod{"", ClientSecretBasic, ClientSecretPost} {
		t.Run(string(method), func(t *testing.T) {
			srv := newIssuer(t, nil)
			var basic, inBody bool
			fs := front(t, srv, func(_ int64, w http.ResponseWriter, r *http.Request) bool {
				_, _, basic = r.BasicAuth()
				body, _ := io.ReadAll(r.Body)
				form, _ := url.ParseQuery(string(body))
				inBody = form.Get("client_secret") == testSecret && form.Get("client_id") == testID
				r.Body = io.NopCloser(strings.NewReader(string(body)))
				r.ContentLength = int64(len(body))
				return false
			})
			cfg := basicConfig(fs.URL+authtest.TokenPath, nil)
			cfg.AuthMethod = method
			c, _ := newClient(t, cfg)
			tok, err := c.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if claims := verify(t, srv, nil, tok); claims.ClientID != testID {
				t.Fatalf("client_id = %q", claims.ClientID)
			}
			wantBasic := method != ClientSecretPost
			if basic != wantBasic || inBody == wantBasic {
				t.Fatalf("basic header %v, secret in body %v; want basic %v", basic, inBody, wantBasic)
			}
		})
	}
}

func TestPrivateKeyJWTAcceptedByAuthtest(t *testing.T) {
	for _, alg := range []string{"ES256", "ES384", "RS256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			clk := newClock()
			key, err := authtest.NewKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			srv := newIssuer(t, clk, authtest.WithTokenLifetime(time.Minute),
				authtest.WithClient(authtest.Client{ID: "jwt-client", PublicKey: key.Public(), Scopes: []string{"orders:read"}}))
			c, _ := newClient(t, Config{ClientID: "jwt-client", TokenURL: srv.TokenURL(), AuthMethod: PrivateKeyJWT,
				PrivateKey: key.Private, KeyID: key.ID, Now: clk.Now})
			for i := range 2 { // the second fetch needs a fresh jti: authtest refuses replays
				tok, err := c.Token(context.Background())
				if err != nil {
					t.Fatalf("fetch %d: %v", i, err)
				}
				if claims := verify(t, srv, clk, tok); claims.ClientID != "jwt-client" {
					t.Fatalf("client_id = %q", claims.ClientID)
				}
				clk.Advance(time.Minute)
			}
			if srv.TokenRequests() != 2 {
				t.Fatalf("token requests = %d, want 2", srv.TokenRequests())
			}
		})
	}
}

// The assertion has the RFC 7523 §3 claims, is signed by the key, and is
// sent without any secret.
func TestPrivateKeyJWTAssertion(t *testing.T) {
	clk := newClock()
	key, _ := authtest.NewKey("ES256")
	var forms []url.Values
	var headers []http.Header
	ts := newCountingServer(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		forms, headers = append(forms, r.PostForm), append(headers, r.Header.Clone())
		writeJSON(w, 200, `{"access_token":"abc","token_type":"Bearer","expires_in":60}`)
	})
	tokenURL := ts.URL + "/oauth/token"
	c, _ := newClient(t, Config{ClientID: "jwt-client", TokenURL: tokenURL, AuthMethod: PrivateKeyJWT,
		PrivateKey: key.Private, KeyID: key.ID, Now: clk.Now})
	for range 2 {
		if _, err := c.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
	}
	jtis := map[string]bool{}
	for i, form := range forms {
		if headers[i].Get("Authorization") != "" || form.Has("client_secret") || form.Get("client_id") != "jwt-client" ||
			form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			t.Fatalf("request %d: header %q, form %v", i, headers[i].Get("Authorization"), form)
		}
		parsed, err := jwt.ParseSigned(form.Get("client_assertion"), []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		if h := parsed.Headers[0]; h.KeyID != key.ID || h.ExtraHeaders["typ"] != "JWT" {
			t.Fatalf("header kid %q typ %v", h.KeyID, h.ExtraHeaders["typ"])
		}
		var cl jwt.Claims
		if err := parsed.Claims(key.Public(), &cl); err != nil {
			t.Fatalf("signature: %v", err)
		}
		issued := cl.IssuedAt.Time()
		if cl.Issuer != "jwt-client" || cl.Subject != "jwt-client" || !slices.Equal(cl.Audience, jwt.Audience{tokenURL}) ||
			cl.ID == "" || cl.Expiry.Time().Sub(issued) != time.Minute {
			t.Fatalf("assertion %d claims: %+v", i, cl)
		}
		jtis[cl.ID] = true
	}
	if len(forms) != 2 || len(jtis) != 2 {
		t.Fatalf("requests %d, distinct jti %d; want 2 and 2", len(forms), len(jtis))
	}
}

func TestH7CredentialsFormEncoded(t *testing.T) {
	creds := []struct{ id, secret string }{
		{"svc:orders", "pa:ss"},
		{"100%+real", "a%2Fb+c"},
		{"with space", "sec ret word"},
		{"clïent-ü", "sécret-€-ß"},
	}
	for _, method := range []AuthMethod{ClientSecretBasic, ClientSecretPost} {
		for _, cr := range creds {
			t.Run(string(method)+"/"+cr.id, func(t *testing.T) {
				srv := newIssuer(t, nil, authtest.WithClient(authtest.Client{ID: cr.id, Secret: cr.secret}))
				c, _ := newClient(t, Config{ClientID: cr.id, ClientSecret: cr.secret, TokenURL: srv.TokenURL(), AuthMethod: method})
				tok, err := c.Token(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if claims := verify(t, srv, nil, tok); claims.ClientID != cr.id {
					t.Fatalf("client_id = %q, want %q", claims.ClientID, cr.id)
				}
			})
		}
	}
}

func TestAudienceAndResourceSent(t *testing.T) {
	srv := newIssuer(t, nil)
	cfg := basicConfig(srv.TokenURL(), nil)
	cfg.Audience = []string{"billing-api"}
	cfg.Resource = []string{"https://orders.example.com/", "https://stock.example.com/"}
	c, _ := newClient(t, cfg)
	tok, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	claims := verify(t, srv, nil, tok, "billing-api")
	want := []string{"billing-api", "https://orders.example.com/", "https://stock.example.com/"}
	if !slices.Equal(claims.Audience, want) || !slices.Equal(claims.Scopes, []string{"orders:read"}) {
		t.Fatalf("aud %v scopes %v", claims.Audience, claims.Scopes)
	}
}

func TestH5ServerErrorThenSuccess(t *testing.T) {
	srv := newIssuer(t, nil)
	fs := front(t, srv, func(n int64, w http.ResponseWriter, _ *http.Request) bool {
		if n == 1 {
			writeJSON(w, http.StatusServiceUnavailable, `{"error":"temporarily_unavailable"}`)
			return true
		}
		return false
	})
	c, sl := newClient(t, basicConfig(fs.URL+authtest.TokenPath, nil))
	tok, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	verify(t, srv, nil, tok)
	if fs.count() != 2 || len(sl.all()) != 1 {
		t.Fatalf("requests %d, waits %v; want 2 and one wait", fs.count(), sl.all())
	}
}

func TestH5RetryAfterHonoured(t *testing.T) {
	clk := newClock()
	tests := []struct {
		name, value string
		want        time.Duration
	}{
		{"seconds", "7", 7 * time.Second},
		{"http date", clk.Now().Add(4 * time.Second).Format(http.TimeFormat), 4 * time.Second},
		{"capped", "3600", 20 * time.Second},
		{"past date", clk.Now().Add(-time.Hour).Format(http.TimeFormat), time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newCountingServer(t, func(n int64, w http.ResponseWriter, _ *http.Request) {
				if n == 1 {
					w.Header().Set("Retry-After", tt.value)
					writeJSON(w, http.StatusServiceUnavailable, `{}`)
					return
				}
				writeJSON(w, 200, `{"access_token":"tok","token_type":"Bearer","expires_in":60}`)
			})
			cfg := basicConfig(ts.URL, clk)
			cfg.MinBackoff, cfg.MaxBackoff = time.Millisecond, 20*time.Second
			c, sl := newClient(t, cfg)
			if _, err := c.Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := sl.all(); len(got) != 1 || got[0] != tt.want {
				t.Fatalf("waits %v, want [%v]", got, tt.want)
			}
		})
	}
}

// Without Retry-After, waits grow exponentially within their jitter
// band, up to MaxBackoff, and attempts stop at MaxAttempts.
func TestH5BackoffBounded(t *testing.T) {
	ts := newCountingServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusBadGateway, `{}`)
	})
	cfg := basicConfig(ts.URL, nil)
	cfg.MaxAttempts, cfg.MinBackoff, cfg.MaxBackoff = 6, 10*time.Millisecond, 50*time.Millisecond
	c, sl := newClient(t, cfg)
	_, err := c.Token(context.Background())
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response.StatusCode != http.StatusBadGateway {
		t.Fatalf("err = %v, want a 502 RetrieveError", err)
	}
	if ts.count() != 6 {
		t.Fatalf("requests = %d, want 6", ts.count())
	}
	ceilings := []time.Duration{10, 20, 40, 50, 50}
	waits := sl.all()
	if len(waits) != len(ceilings) {
		t.Fatalf("waits %v", waits)
	}
	for i, w := range waits {
		hi := ceilings[i] * time.Millisecond
		if w < hi/2 || w > hi {
			t.Fatalf("wait %d = %v, want within [%v, %v]", i, w, hi/2, hi)
		}
	}
}

// A connection reset is retried.
func TestH5ConnectionResetRetried(t *testing.T) {
	srv := newIssuer(t, nil)
	fs := front(t, srv, func(n int64, w http.ResponseWriter, _ *http.Request) bool {
		if n == 1 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // RST rather than FIN
				}
				conn.Close()
			}
			return true
		}
		return false
	})
	c, _ := newClient(t, basicConfig(fs.URL+authtest.TokenPath, nil))
	tok, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	verify(t, srv, nil, tok)
	if fs.count() != 2 {
		t.Fatalf("requests = %d, want 2", fs.count())
	}
}

func TestH5ClientErrorsNotRetried(t *testing.T) {
	t.Run("400 invalid_client", func(t *testing.T) {
		srv := newIssuer(t, nil)
		srv.SetTokenFault(&authtest.Fault{Status: http.StatusBadRequest,
			Header: http.Header{"Content-Type": {"application/json"}},
			Body:   []byte(`{"error":"invalid_client","error_description":"unknown client"}`)})
		c, sl := newClient(t, basicConfig(srv.TokenURL(), nil))
		_, err := c.Token(context.Background())
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != 400 {
			t.Fatalf("err = %v, want invalid_client RetrieveError", err)
		}
		if srv.TokenRequests() != 1 || len(sl.all()) != 0 {
			t.Fatalf("requests %d waits %v; want 1 and none", srv.TokenRequests(), sl.all())
		}
	})
	t.Run("401 wrong secret", func(t *testing.T) {
		srv := newIssuer(t, nil)
		cfg := basicConfig(srv.TokenURL(), nil)
		cfg.ClientSecret = "wrong-secret-42"
		c, _ := newClient(t, cfg)
		_, err := c.Token(context.Background())
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != 401 {
			t.Fatalf("err = %v", err)
		}
		if srv.TokenRequests() != 1 {
			t.Fatalf("requests = %d, want 1", srv.TokenRequests())
		}
	})
	t.Run("429", func(t *testing.T) {
		ts := newCountingServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusTooManyRequests, `{"error":"slow_down"}`)
		})
		c, _ := newClient(t, basicConfig(ts.URL, nil))
		if _, err := c.Token(context.Background()); err == nil || ts.count() != 1 {
			t.Fatalf("err %v, requests %d; want an error after 1", err, ts.count())
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := newClock().Now()
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{" 12 ", 12 * time.Second, true},
		{"-3", 0, false},
		{"soon", 0, false},
		{"", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
