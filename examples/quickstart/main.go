// Command quickstart runs the whole bearerkit story on loopback: an
// authorization server (authtest), a Gin API and an Echo API protected by
// bearerkit, and clients that obtain tokens with clientcreds and call the
// APIs with and without the right scopes. It prints one line per call and
// exits non-zero if any call is not answered as expected.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/clientcreds"
	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/echoauth"
	"github.com/bearerkit/bearerkit/ginauth"
)

const audience = "orders-api"

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// call is one request of the transcript.
type call struct {
	what   string
	method string
	path   string
	client *http.Client
	token  string // sent as is when client is nil; "" sends none
	want   int
}

func run(ctx context.Context, out io.Writer) error {
	issuer := authtest.NewServer(
		authtest.WithDefaultAudience(audience),
		authtest.WithClient(authtest.Client{ID: "reporting", Secret: "reporting-secret", Scopes: []string{"orders:read"}}),
		authtest.WithClient(authtest.Client{ID: "fulfilment", Secret: "fulfilment-secret", Scopes: []string{"orders:read", "orders:write"}}),
	)
	defer issuer.Close()
	fmt.Fprintf(out, "issuer   %s (authtest: for tests and demos only)\n", issuer.Issuer)

	v, err := core.New(core.Config{Issuer: issuer.Issuer})
	if err != nil {
		return err
	}
	defer v.Close()
	if err := v.Prefetch(ctx); err != nil {
		return fmt.Errorf("loading the issuer's keys: %w", err)
	}

	ginURL, stopGin, err := serve(ginAPI(v))
	if err != nil {
		return err
	}
	defer stopGin()
	echoURL, stopEcho, err := serve(echoAPI(v))
	if err != nil {
		return err
	}
	defer stopEcho()
	fmt.Fprintf(out, "gin API  %s\necho API %s\n\n", ginURL, echoURL)

	reporting, err := clientcreds.New(clientcreds.Config{
		ClientID: "reporting", ClientSecret: "reporting-secret", TokenURL: issuer.TokenURL(),
		Scopes: []string{"orders:read"}, Audience: []string{audience},
	})
	if err != nil {
		return err
	}
	fulfilment, err := clientcreds.New(clientcreds.Config{
		ClientID: "fulfilment", ClientSecret: "fulfilment-secret", TokenURL: issuer.TokenURL(),
		Scopes: []string{"orders:read", "orders:write"}, Audience: []string{audience},
	})
	if err != nil {
		return err
	}
	if _, err := reporting.Token(ctx); err != nil {
		return fmt.Errorf("obtaining a token for reporting: %w", err)
	}

	forged, expired, err := badTokens(issuer)
	if err != nil {
		return err
	}
	calls := []call{
		{what: "no token", method: "GET", path: "/orders", want: http.StatusUnauthorized},
		{what: "forged token", method: "GET", path: "/orders", token: forged, want: http.StatusUnauthorized},
		{what: "expired token", method: "GET", path: "/orders", token: expired, want: http.StatusUnauthorized},
		{what: "reporting, lacks orders:write", method: "POST", path: "/orders", client: reporting.HTTPClient(), want: http.StatusForbidden},
		{what: "reporting, orders:read", method: "GET", path: "/orders", client: reporting.HTTPClient(), want: http.StatusOK},
		{what: "fulfilment, orders:write", method: "POST", path: "/orders", client: fulfilment.HTTPClient(), want: http.StatusCreated},
	}
	failed := 0
	for _, api := range []struct{ name, url string }{{"gin", ginURL}, {"echo", echoURL}} {
		for _, c := range calls {
			got, detail, err := do(ctx, api.url, c)
			if err != nil {
				return err
			}
			verdict := "ok"
			if got != c.want {
				verdict = "UNEXPECTED"
				failed++
			}
			fmt.Fprintf(out, "%-4s  %-4s %-7s  %-30s expect %d  got %d  %-10s %s\n",
				api.name, c.method, c.path, c.what, c.want, got, verdict, detail)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d calls were not answered as expected", failed)
	}
	fmt.Fprintf(out, "\nall %d calls answered as expected\n", 2*len(calls))
	return nil
}

// badTokens mints a token signed by a key the issuer never published (under
// the issuer's own key id), and a correctly signed token that has expired.
func badTokens(issuer *authtest.Server) (forged, expired string, err error) {
	attacker, err := authtest.NewKey("RS256")
	if err != nil {
		return "", "", err
	}
	forged, err = issuer.MintWith(attacker, map[string]any{"kid": issuer.SigningKey().ID},
		issuer.Claims(audience, "orders:read", "orders:write"))
	if err != nil {
		return "", "", err
	}
	old := issuer.Claims(audience, "orders:read")
	old["iat"] = time.Now().Add(-2 * time.Hour).Unix()
	old["exp"] = time.Now().Add(-time.Hour).Unix()
	expired, err = issuer.Mint(old)
	return forged, expired, err
}

// do sends one call and returns the status and the challenge, if any.
func do(ctx context.Context, base string, c call) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, c.method, base+c.path, strings.NewReader("{}"))
	if err != nil {
		return 0, "", err
	}
	client := c.client
	if client == nil {
		client = http.DefaultClient
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	detail := resp.Header.Get("WWW-Authenticate")
	if i := strings.Index(detail, "error="); i >= 0 {
		detail = detail[i:]
	}
	return resp.StatusCode, detail, nil
}

func ginAPI(v *core.Verifier) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery(), ginauth.New(v).Require(audience))
	r.GET("/orders", ginauth.RequireScope("orders:read"), func(c *gin.Context) {
		claims, _ := ginauth.Claims(c)
		c.JSON(http.StatusOK, gin.H{"orders": []string{"o-1", "o-2"}, "client": claims.ClientID})
	})
	r.POST("/orders", ginauth.RequireScope("orders:write"), func(c *gin.Context) {
		c.JSON(http.StatusCreated, gin.H{"id": "o-3"})
	})
	return r
}

func echoAPI(v *core.Verifier) http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = echoauth.HTTPErrorHandler(e, nil) // RFC 6750 bodies, as Gin's
	e.Use(echoauth.New(v).Require(audience))
	e.GET("/orders", func(c echo.Context) error {
		claims, _ := echoauth.Claims(c)
		return c.JSON(http.StatusOK, map[string]any{"orders": []string{"o-1", "o-2"}, "client": claims.ClientID})
	}, echoauth.RequireScope("orders:read"))
	e.POST("/orders", func(c echo.Context) error {
		return c.JSON(http.StatusCreated, map[string]string{"id": "o-3"})
	}, echoauth.RequireScope("orders:write"))
	return e
}

// serve starts h on a free loopback port and returns its URL and a stop
// function that shuts it down.
func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "quickstart: server:", err)
		}
	}()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}
	return "http://" + ln.Addr().String(), stop, nil
}
