package adaptertest

import (
	"context"
	"encoding/base64"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

// attribute matches one auth-param of a challenge; values are quoted
// strings without escapes.
var attribute = regexp.MustCompile(`^([a-z_]+)="([^"\\]*)"$`)

// CheckChallenge checks a WWW-Authenticate value: a Bearer challenge, a
// DPoP one or both, each with a realm and each attribute at most once, and
// values of printable ASCII without quotes or backslashes (RFC 6750 §3).
func CheckChallenge(t *testing.T, challenge string) {
	t.Helper()
	if !strings.HasPrefix(challenge, "Bearer ") && !strings.HasPrefix(challenge, "DPoP ") {
		t.Errorf("challenge %q is neither Bearer nor DPoP", challenge)
		return
	}
	var seen map[string]bool
	schemes := map[string]bool{}
	end := func() {
		if seen != nil && !seen["realm"] {
			t.Errorf("no realm in a challenge of %q", challenge)
		}
	}
	for _, part := range strings.Split(challenge, ", ") {
		for _, scheme := range []string{"Bearer ", "DPoP "} {
			if rest, ok := strings.CutPrefix(part, scheme); ok {
				end()
				if schemes[scheme] {
					t.Errorf("two %schallenges in %q", scheme, challenge)
				}
				schemes[scheme], seen, part = true, map[string]bool{}, rest
			}
		}
		m := attribute.FindStringSubmatch(part)
		if m == nil {
			t.Errorf("malformed attribute %q in %q", part, challenge)
			continue
		}
		if seen[m[1]] {
			t.Errorf("attribute %s twice in a challenge of %q", m[1], challenge)
		}
		seen[m[1]] = true
		for _, r := range m[2] {
			if r < 0x20 || r > 0x7e {
				t.Errorf("attribute %s holds %q", m[1], r)
			}
		}
	}
	end()
}

// RunRejections sends a corpus of hostile and broken tokens through an
// adapter: none may reach the handler, every answer is 401 or 400 with a
// well-formed challenge, and no answer repeats token bytes.
func RunRejections(t *testing.T, build Builder) {
	clock := func() time.Time { return time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC) }
	srv := authtest.NewServer(authtest.WithClock(clock))
	t.Cleanup(srv.Close)
	v, err := core.New(core.Config{Issuer: srv.Issuer, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	key := srv.SigningKey()
	attacker, err := authtest.NewKey("RS256")
	if err != nil {
		t.Fatal(err)
	}
	mint := func(k *authtest.Key, header map[string]any, edit func(map[string]any)) string {
		c := srv.Claims(Audience, "orders:read")
		if edit != nil {
			edit(c)
		}
		tok, err := srv.MintWith(k, header, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	enc := base64.RawURLEncoding.EncodeToString
	good := mint(key, nil, nil)
	parts := strings.Split(good, ".")
	corpus := map[string]string{
		"alg none":        enc([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".",
		"HS256":           mint(key, map[string]any{"alg": "HS256"}, nil),
		"forged key":      mint(attacker, map[string]any{"kid": key.ID}, nil),
		"embedded jwk":    mint(attacker, map[string]any{"jwk": attacker.JWK()}, nil),
		"jku":             mint(attacker, map[string]any{"jku": "http://127.0.0.1:1/jwks"}, nil),
		"crit":            mint(key, map[string]any{"crit": []string{"exp"}}, nil),
		"JWE":             parts[0] + "." + parts[1] + "." + parts[2] + "." + parts[1] + "." + parts[2],
		"JSON":            `{"payload":"` + parts[1] + `"}`,
		"padding":         good + "==",
		"expired":         mint(key, nil, func(c map[string]any) { c["exp"] = clock().Add(-time.Hour).Unix() }),
		"not yet valid":   mint(key, nil, func(c map[string]any) { c["nbf"] = clock().Add(time.Hour).Unix() }),
		"wrong issuer":    mint(key, nil, func(c map[string]any) { c["iss"] = srv.Issuer + "/" }),
		"wrong audience":  mint(key, nil, func(c map[string]any) { c["aud"] = "orders-api-v2" }),
		"no exp":          mint(key, nil, func(c map[string]any) { delete(c, "exp") }),
		"bound":           mint(key, nil, func(c map[string]any) { c["cnf"] = map[string]string{"jkt": "x"} }),
		"dpop typ":        mint(key, map[string]any{"typ": "dpop+jwt"}, nil),
		"tampered":        parts[0] + "." + enc([]byte(`{"iss":"`+srv.Issuer+`","aud":"orders-api","exp":9999999999,"scope":"orders:read"}`)) + "." + parts[2],
		"oversize":        parts[0] + "." + parts[1] + strings.Repeat("A", 16<<10) + "." + parts[2],
		"unknown kid":     mint(key, map[string]any{"kid": "nope"}, nil),
		"quote in token":  `abc"def`,
		"CRLF in token":   "abc\r\nX-Evil: 1",
		"non-ASCII token": "tökén",
		"space in token":  "a b",
	}
	for name, tok := range corpus {
		t.Run(name, func(t *testing.T) {
			var reached atomic.Int64
			h := build(v, Options{}, func(string) { reached.Add(1) })
			req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/orders", nil)
			req.Header["Authorization"] = []string{"Bearer " + tok}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusUnauthorized && rec.Code != http.StatusBadRequest {
				t.Errorf("status %d", rec.Code)
			}
			if reached.Load() != 0 {
				t.Error("handler reached")
			}
			ch := rec.Header().Get("WWW-Authenticate")
			CheckChallenge(t, ch)
			for _, piece := range []string{parts[1][:16], parts[2][:16], key.ID, srv.Issuer} {
				if strings.Contains(ch, piece) || strings.Contains(rec.Body.String(), piece) {
					t.Errorf("answer repeats %q", piece)
				}
			}
		})
	}
}

// RunPanicLogs serves h (whose handlers panic after authentication) on a
// loopback server whose error log, like the verifier's debug log and
// whatever frameworkLog collects, must never show the token.
func RunPanicLogs(t *testing.T, build func(v core.TokenVerifier, frameworkLog io.Writer) http.Handler) {
	srv := authtest.NewServer()
	t.Cleanup(srv.Close)
	var verifierLog, serverLog, frameworkLog lockedBuilder
	v, err := core.New(core.Config{Issuer: srv.Issuer, Logger: slog.New(slog.NewTextHandler(&verifierLog, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	ts := httptest.NewUnstartedServer(build(v, &frameworkLog))
	ts.Config.ErrorLog = log.New(&serverLog, "", 0)
	ts.Start()
	t.Cleanup(ts.Close)
	for _, tok := range []string{srv.Token(Audience, "orders:read"), srv.Token("elsewhere")} {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/orders", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if resp, err := ts.Client().Do(req); err == nil {
			resp.Body.Close()
		}
		ts.CloseClientConnections()
	}
	ts.Close() // waits for the handlers, so the logs are complete
	for name, text := range map[string]string{"verifier": verifierLog.String(), "server": serverLog.String(), "framework": frameworkLog.String()} {
		for _, part := range []string{"Bearer ey", "eyJ"} {
			if strings.Contains(text, part) {
				t.Errorf("%s log shows token bytes:\n%s", name, text)
			}
		}
	}
	if !strings.Contains(verifierLog.String(), "reason=audience") {
		t.Errorf("verifier log lacks the rejection: %s", verifierLog.String())
	}
}

// lockedBuilder is a strings.Builder safe for concurrent writers.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
