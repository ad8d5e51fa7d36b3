package clientcreds

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/core"
)

// seenRequests records what an API server received.
type seenRequests struct {
	mu     sync.Mutex
	auth   []string
	bodies []string
}

func (s *seenRequests) add(r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	s.bodies = append(s.bodies, string(b))
	s.mu.Unlock()
}

func (s *seenRequests) get() ([]string, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auth...), append([]string(nil), s.bodies...)
}

const invalidToken = `Bearer realm="api", error="invalid_token", error_description="expired"`

// rejectFirst is an API that answers 401 invalid_token to the first token
// it sees and 200 to any other.
func rejectFirst(t *testing.T) (*countingServer, *seenRequests) {
	seen := &seenRequests{}
	var mu sync.Mutex
	first := ""
	api := newCountingServer(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		seen.add(r)
		mu.Lock()
		if first == "" {
			first = r.Header.Get("Authorization")
		}
		reject := r.Header.Get("Authorization") == first
		mu.Unlock()
		if reject {
			w.Header().Set("WWW-Authenticate", invalidToken)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	return api, seen
}

func TestHTTPClientSendsBearer(t *testing.T) {
	srv := newIssuer(t, nil)
	v, err := core.New(core.Config{Issuer: srv.Issuer})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	api := newCountingServer(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		core.Middleware(v, testAud)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, _ := core.ClaimsFromContext(r.Context())
			_, _ = io.WriteString(w, claims.ClientID)
		})).ServeHTTP(w, r)
	})
	c, _ := newClient(t, basicConfig(srv.TokenURL(), nil))
	hc := c.HTTPClient()
	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, api.URL+"/orders", nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != testID {
			t.Fatalf("API answered %d %q", resp.StatusCode, body)
		}
		if req.Header.Get("Authorization") != "" {
			t.Fatal("the caller's request was modified")
		}
	}
	if srv.TokenRequests() != 1 {
		t.Fatalf("token requests = %d, want 1", srv.TokenRequests())
	}
}

func TestExistingAuthorizationKept(t *testing.T) {
	srv := newIssuer(t, nil)
	seen := &seenRequests{}
	api := newCountingServer(t, func(_ int64, w http.ResponseWriter, r *http.Request) { seen.add(r) })
	c, _ := newClient(t, basicConfig(srv.TokenURL(), nil))
	req, _ := http.NewRequest(http.MethodGet, api.URL, nil)
	req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
	resp, err := c.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if auth, _ := seen.get(); len(auth) != 1 || auth[0] != "Basic dXNlcjpwYXNz" {
		t.Fatalf("API saw %q", auth)
	}
	if srv.TokenRequests() != 0 {
		t.Fatalf("token requests = %d, want 0", srv.TokenRequests())
	}
}

func TestH3CrossOriginRedirectGetsNoToken(t *testing.T) {
	srv := newIssuer(t, nil)
	otherSeen := &seenRequests{}
	other := newCountingServer(t, func(_ int64, _ http.ResponseWriter, r *http.Request) { otherSeen.add(r) })
	apiSeen := &seenRequests{}
	api := newCountingServer(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		apiSeen.add(r)
		switch r.URL.Path {
		case "/to-other":
			http.Redirect(w, r, other.URL+"/landing", http.StatusFound)
		case "/to-same":
			http.Redirect(w, r, "/landing", http.StatusTemporaryRedirect)
		}
	})

	t.Run("default", func(t *testing.T) {
		c, _ := newClient(t, basicConfig(srv.TokenURL(), nil))
		for _, path := range []string{"/to-other", "/to-same"} {
			resp, err := c.HTTPClient().Get(api.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		auth, _ := apiSeen.get()
		if len(auth) != 3 || !allBearer(auth) {
			t.Fatalf("origin saw %q; want a token on all 3 requests", auth)
		}
		if oa, _ := otherSeen.get(); len(oa) != 1 || oa[0] != "" {
			t.Fatalf("other origin saw %q; want one request without a token", oa)
		}
	})
	t.Run("origins listed", func(t *testing.T) {
		cfg := basicConfig(srv.TokenURL(), nil)
		cfg.Origins = []string{api.URL}
		c, _ := newClient(t, cfg)
		resp, err := c.HTTPClient().Get(other.URL + "/direct")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if oa, _ := otherSeen.get(); len(oa) != 2 || oa[1] != "" {
			t.Fatalf("unlisted origin saw %q; want no token", oa)
		}
		if srv.TokenRequests() != 1 { // only the default subtest fetched
			t.Fatalf("token requests = %d, want 1", srv.TokenRequests())
		}
		cfg.Origins = []string{api.URL, other.URL}
		c, _ = newClient(t, cfg)
		resp, err = c.HTTPClient().Get(api.URL + "/to-other")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if oa, _ := otherSeen.get(); len(oa) != 3 || !strings.HasPrefix(oa[2], "Bearer ") {
			t.Fatalf("listed origin saw %q; want a token", oa)
		}
	})
}

func allBearer(auth []string) bool {
	for _, a := range auth {
		if !strings.HasPrefix(a, "Bearer ") || len(a) < 20 {
			return false
		}
	}
	return true
}

type recordingRT struct{ reqs []*http.Request }

func (r *recordingRT) RoundTrip(req *http.Request) (*http.Response, error) {
	r.reqs = append(r.reqs, req)
	return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}, Request: req}, nil
}

func TestPlainHTTPToRemoteHostRefused(t *testing.T) {
	srv := newIssuer(t, nil)
	c, _ := newClient(t, basicConfig(srv.TokenURL(), nil))
	rt := &recordingRT{}
	req, _ := http.NewRequest(http.MethodGet, "http://api.example.com/orders", nil)
	if _, err := c.Transport(rt).RoundTrip(req); !errors.Is(err, ErrInsecureRequest) {
		t.Fatalf("err = %v, want ErrInsecureRequest", err)
	}
	if len(rt.reqs) != 0 || srv.TokenRequests() != 0 {
		t.Fatalf("sent %d requests, %d token requests; want none", len(rt.reqs), srv.TokenRequests())
	}

	cfg := basicConfig(srv.TokenURL(), nil)
	cfg.Origins = []string{"http://api.example.com"}
	c, _ = newClient(t, cfg)
	if _, err := c.Transport(rt).RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if len(rt.reqs) != 1 || !strings.HasPrefix(rt.reqs[0].Header.Get("Authorization"), "Bearer ") {
		t.Fatal("a listed http origin should get the token")
	}
}

func TestRetryOnceAfterInvalidToken(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			srv := newIssuer(t, nil)
			api, seen := rejectFirst(t)
			c, _ := newClient(t, basicConfig(srv.TokenURL(), nil))
			var body io.Reader
			if method == http.MethodPost {
				body = strings.NewReader("payload") // http.NewRequest sets GetBody
			}
			req, _ := http.NewRequest(method, api.URL, body)
			resp, err := c.HTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			auth, bodies := seen.get()
			if resp.StatusCode != 200 || string(got) != "ok" || len(auth) != 2 || auth[0] == auth[1] || !allBearer(auth) {
				t.Fatalf("status %d, API saw %q", resp.StatusCode, auth)
			}
			if method == http.MethodPost && (bodies[0] != "payload" || bodies[1] != "payload") {
				t.Fatalf("bodies %q", bodies)
			}
			if srv.TokenRequests() != 2 {
				t.Fatalf("token requests = %d, want 2", srv.TokenRequests())
			}
		})
	}
}

// onlyReader hides strings.Reader so http.NewRequest cannot set GetBody.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestNoRetryForNonReplayableBody(t *testing.T) {
	srv := newIssuer(t, nil)
	api, seen := rejectFirst(t)
	c, _ := newClient(t, basicConfig(srv.TokenURL(), nil))
	req, _ := http.NewRequest(http.MethodPost, api.URL, onlyReader{strings.NewReader("payload")})
	if req.GetBody != nil {
		t.Fatal("test setup: GetBody is set")
	}
	resp, err := c.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if auth, _ := seen.get(); resp.StatusCode != 401 || len(auth) != 1 {
		t.Fatalf("status %d, API requests %d; want 401 after 1", resp.StatusCode, len(auth))
	}
	if srv.TokenRequests() != 1 {
		t.Fatalf("token requests = %d, want 1", srv.TokenRequests())
	}
}

func TestNoRetryUnlessInvalidToken(t *testing.T) {
	answers := []struct {
		status    int
		challenge string
	}{
		{401, `Bearer realm="api"`},
		{401, `Bearer realm="api", error="invalid_request"`},
		{403, `Bearer realm="api", error="insufficient_scope"`},
		{403, invalidToken},
		{401, `Basic realm="invalid_token"`},
		{401, ""},
	}
	srv := newIssuer(t, nil)
	c, _ := newClient(t, basicConfig(srv.TokenURL(), nil))
	for _, a := range answers {
		api := newCountingServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
			if a.challenge != "" {
				w.Header().Set("WWW-Authenticate", a.challenge)
			}
			w.WriteHeader(a.status)
		})
		resp, err := c.HTTPClient().Get(api.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != a.status || api.count() != 1 {
			t.Fatalf("%d %q: status %d after %d requests; want no retry", a.status, a.challenge, resp.StatusCode, api.count())
		}
	}
	if srv.TokenRequests() != 1 {
		t.Fatalf("token requests = %d, want 1", srv.TokenRequests())
	}
}

// An API that rejects every token: each request is retried at most once,
// and forced refreshes start at most once per 5 s.
func TestH6AlwaysUnauthorizedRateLimited(t *testing.T) {
	clk := newClock()
	srv := newIssuer(t, clk)
	api := newCountingServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("WWW-Authenticate", invalidToken)
		w.WriteHeader(http.StatusUnauthorized)
	})
	c, _ := newClient(t, basicConfig(srv.TokenURL(), clk))
	hc := c.HTTPClient()
	steps := []struct {
		advance            time.Duration
		apiTotal, tokTotal int
	}{
		{0, 2, 2},               // first token rejected, one forced refresh, one retry
		{0, 3, 2},               // within 5 s: no refresh, no retry
		{4 * time.Second, 4, 2}, // still within 5 s
		{time.Second, 6, 3},     // 5 s after the last forced refresh
		{0, 7, 3},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		resp, err := hc.Get(api.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || api.count() != s.apiTotal || srv.TokenRequests() != s.tokTotal {
			t.Fatalf("request %d: status %d, API requests %d, token requests %d; want 401, %d, %d",
				i, resp.StatusCode, api.count(), srv.TokenRequests(), s.apiTotal, s.tokTotal)
		}
	}
}

func TestBearerError(t *testing.T) {
	tests := map[string]string{
		`Bearer error="invalid_token"`:                                  "invalid_token",
		`bearer realm="a, b", error=invalid_token`:                      "invalid_token",
		`Basic realm="x", Bearer realm="api", error="invalid_token"`:    "invalid_token",
		`Newauth abc==, Bearer error="insufficient_scope", scope="a b"`: "insufficient_scope",
		`Basic error="invalid_token"`:                                   "",
		`Bearer realm="say \"error=invalid_token\""`:                    "",
		`Bearer`: "",
		`DPoP error="invalid_token", Bearer realm="api"`:                   "",
		`Bearer realm="api",error="invalid_token",error_description="exp"`: "invalid_token",
	}
	for in, want := range tests {
		if got := challengeParam(in, "Bearer", "error"); got != want {
			t.Errorf("challengeParam(%q) = %q, want %q", in, got, want)
		}
	}
}
