package clientcreds

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/bearerkit/bearerkit/internal/clientauth"

	"github.com/bearerkit/bearerkit/authtest"
)

// H10: a token endpoint or proxy page that echoes the request — the Basic
// value, the form body, the secret in any escaping, or cut at any point —
// never puts the secret, or a piece of it, in an error, log or
// RetrieveError. Redaction happens before the body is cut to 4 KiB.
func TestH10EchoedSecretsRedacted(t *testing.T) {
	const id = "svc:ops&1"
	for _, secret := range []string{testSecret, `p&ss<w>"rd\/é+ %:=x`, strings.Repeat("Z9", 40)} {
		basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
		jsonEsc, _ := json.Marshal(secret)
		echoes := map[string]func(r *http.Request, form string) string{
			"authorization header": func(r *http.Request, _ string) string { return "you sent: " + r.Header.Get("Authorization") },
			"form body":            func(_ *http.Request, form string) string { return "form: " + form },
			"json escaped":         func(_ *http.Request, _ string) string { return `{"got":` + string(jsonEsc) + `}` },
			"json ascii-escaped": func(_ *http.Request, _ string) string {
				q := strconv.QuoteToASCII(secret) // escapes as JSON does for these secrets
				return `{"got":` + q + `}`
			},
			"json with escaped solidus": func(_ *http.Request, _ string) string {
				return `{"got":` + strings.ReplaceAll(string(jsonEsc), "/", `\/`) + `}`
			},
			"html escaped": func(_ *http.Request, _ string) string { return "<pre>" + html.EscapeString(secret) + "</pre>" },
			"lower-case percent escapes": func(_ *http.Request, _ string) string {
				q := url.QueryEscape(secret)
				return "q=" + regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(q, strings.ToLower)
			},
			"base64 of the secret": func(_ *http.Request, _ string) string {
				return "b=" + base64.StdEncoding.EncodeToString([]byte(secret))
			},
			"cut by the 4 KiB limit": func(_ *http.Request, _ string) string {
				return strings.Repeat(".", maxErrorBodyLen-5) + secret + strings.Repeat(".", 100)
			},
		}
		for cut := clientauth.MinFragment; cut < len(secret); cut += 3 {
			echoes[fmt.Sprintf("cut after %d bytes", cut)] = func(_ *http.Request, _ string) string { return "echo: " + secret[:cut] }
			echoes[fmt.Sprintf("cut after %d bytes, mid-text", cut)] = func(_ *http.Request, _ string) string {
				return `{"error_description":"bad secret ` + secret[:cut] + `"}`
			}
		}
		for name, echo := range echoes {
			for _, method := range []AuthMethod{ClientSecretBasic, ClientSecretPost} {
				t.Run(fmt.Sprintf("%.8s %s %s", secret, name, method), func(t *testing.T) {
					ts := newCountingServer(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
						raw, _ := io.ReadAll(r.Body)
						text := echo(r, string(raw))
						w.Header().Set("X-Echo", strings.ReplaceAll(text, "\n", " "))
						body, _ := json.Marshal(map[string]string{"error": "invalid_client", "error_description": text})
						if strings.HasPrefix(name, "cut by") {
							body = []byte(text)
						}
						writeJSON(w, http.StatusUnauthorized, string(body))
					})
					var logs bytes.Buffer
					cfg := Config{ClientID: id, ClientSecret: secret, TokenURL: ts.URL, AuthMethod: method,
						Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
					c, _ := newClient(t, cfg)
					_, err := c.Token(context.Background())
					if err == nil {
						t.Fatal("no error")
					}
					texts := map[string]string{"error": err.Error(), "%+v": fmt.Sprintf("%+v", err), "log": logs.String()}
					var re *oauth2.RetrieveError
					if errors.As(err, &re) {
						texts["body"] = string(re.Body)
						texts["description"] = re.ErrorDescription
						texts["header"] = fmt.Sprint(re.Response.Header)
						if len(re.Body) > maxErrorBodyLen {
							t.Errorf("body of %d bytes kept", len(re.Body))
						}
					}
					for where, text := range texts {
						for _, form := range []string{secret, basic, string(jsonEsc[1 : len(jsonEsc)-1]), url.QueryEscape(secret), secret[:clientauth.MinFragment]} {
							if strings.Contains(text, form) {
								t.Errorf("%s holds %q: %s", where, form, text)
							}
						}
					}
				})
			}
		}
	}
}

// H11: with no token held, a caller loop against an endpoint that refuses
// the client causes one request, not one per call; the next comes only
// after the pause, which grows with each failure and is longer after a
// refusal (4xx) than after a server failure (5xx).
func TestH11FailuresArePaced(t *testing.T) {
	cases := []struct {
		name   string
		status int
		pauses []time.Duration
	}{
		{"401 invalid_client", http.StatusUnauthorized, []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 5 * time.Minute, 5 * time.Minute}},
		{"503", http.StatusServiceUnavailable, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			ts := newCountingServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, tc.status, `{"error":"invalid_client"}`)
			})
			cfg := basicConfig(ts.URL, clk)
			cfg.MaxAttempts = 1
			c, _ := newClient(t, cfg)
			for i, p := range tc.pauses {
				for range 1000 {
					if _, err := c.Token(context.Background()); err == nil {
						t.Fatal("a token from a failing endpoint")
					}
				}
				if got := ts.count(); got != i+1 {
					t.Fatalf("after failure %d: %d requests for 1000 calls, want %d", i+1, got, i+1)
				}
				st := c.Status()
				if st.Failures != i+1 || st.NextAttempt.Sub(clk.Now()) != p || st.HasToken {
					t.Fatalf("after failure %d: status %+v, want a pause of %v", i+1, st, p)
				}
				clk.Advance(p - time.Millisecond)
				if _, err := c.Token(context.Background()); err == nil || ts.count() != i+1 {
					t.Fatalf("request before the pause ended (err %v)", err)
				}
				clk.Advance(time.Millisecond)
			}
		})
	}
}

// The error returned during a pause is the last failure, still reachable
// with errors.As, and says when the next attempt may start.
func TestPausedErrorKeepsTheCause(t *testing.T) {
	clk := newClock()
	ts := newCountingServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusBadRequest, `{"error":"invalid_scope"}`)
	})
	c, _ := newClient(t, basicConfig(ts.URL, clk))
	_, first := c.Token(context.Background())
	_, paused := c.Token(context.Background())
	var re *oauth2.RetrieveError
	if !errors.As(paused, &re) || re.ErrorCode != "invalid_scope" || !strings.Contains(paused.Error(), "the next may start in 10s") {
		t.Fatalf("paused error = %v (first %v)", paused, first)
	}
}

// Close stops background refresh and fetches; Status reports the token
// and failures; the Logger hears of a failing refresh once per run of
// failures and of the recovery once.
func TestCloseStatusAndLogging(t *testing.T) {
	clk := newClock()
	srv := newIssuer(t, clk, authtest.WithTokenLifetime(10*time.Minute))
	var logs lockedLog
	cfg := basicConfig(srv.TokenURL(), clk)
	cfg.MaxAttempts = 1
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c, _ := newClient(t, cfg)
	tok, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st := c.Status()
	if !st.HasToken || !st.Expiry.Equal(clk.Now().Add(10*time.Minute)) || !st.RefreshAt.Equal(clk.Now().Add(8*time.Minute)) || st.Failures != 0 {
		t.Fatalf("status = %+v", st)
	}
	if b, _ := json.Marshal(st); strings.Contains(string(b), tok) {
		t.Fatal("status shows the token")
	}

	srv.SetTokenFault(&authtest.Fault{Status: http.StatusInternalServerError})
	clk.Advance(8 * time.Minute)
	for i := range 5 {
		if got, err := c.Token(context.Background()); err != nil || got != tok {
			t.Fatalf("during failing refreshes: %v", err)
		}
		settle(c)
		clk.Advance(time.Duration(1<<i) * time.Second)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings for one run of failures, want 1:\n%s", n, logs.String())
	}
	if st := c.Status(); st.Failures != 5 || !st.HasToken || st.LastError == nil {
		t.Errorf("status = %+v", st)
	}
	srv.SetTokenFault(nil)
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	settle(c)
	if !strings.Contains(logs.String(), "level=INFO msg=\"clientcreds: token request succeeded again\"") {
		t.Errorf("no recovery line:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), testSecret) || strings.Contains(logs.String(), "eyJ") {
		t.Error("log holds a secret or token")
	}

	// Close cancels a fetch in flight and no other starts.
	hold := make(chan struct{})
	defer close(hold)
	srv.SetTokenFault(&authtest.Fault{Wait: hold})
	clk.Advance(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := c.Token(ctx); err == nil {
			t.Error("token from a held endpoint")
		}
	})
	before := srv.TokenRequests()
	c.Close() // returns once the fetch in flight has ended
	cancel()
	wg.Wait()
	if _, err := c.Token(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
	if !c.Status().Closed || srv.TokenRequests() > before+1 {
		t.Errorf("after Close: status %+v, %d requests", c.Status(), srv.TokenRequests()-before)
	}
}

type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
