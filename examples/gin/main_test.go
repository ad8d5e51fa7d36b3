package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m, main) }

func TestRouter(t *testing.T) {
	srv := authtest.NewServer()
	defer srv.Close()
	v, err := core.New(core.Config{Issuer: srv.Issuer})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	r := newRouter(v, "orders-api")
	for _, c := range []struct {
		method, path, token string
		status              int
	}{
		{"GET", "/livez", "", 200},
		{"GET", "/readyz", "", 503}, // no keys loaded yet
		{"GET", "/orders", "", 401},
		{"GET", "/orders", srv.Token("orders-api", "orders:write"), 403},
		{"GET", "/orders", srv.Token("orders-api", "orders:read"), 200},
		{"GET", "/readyz", "", 200},
		{"DELETE", "/orders/o-1", srv.Token("orders-api", "orders:read"), 403},
		{"DELETE", "/orders/o-1", srv.Token("orders-api", "orders:admin"), 204},
		{"GET", "/livez/../orders", "", 401},
	} {
		req := httptest.NewRequest(c.method, c.path, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, rec.Code, c.status)
		}
	}
}

func TestRefusesToStartWithoutIssuer(t *testing.T) {
	p := exampletest.Start(t, []string{"BEARERKIT_AUDIENCE=orders-api"})
	if code, stderr := p.Wait(); code == 0 || !strings.Contains(stderr, "BEARERKIT_ISSUER and BEARERKIT_AUDIENCE must be set") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestServesAndStopsOnSIGTERM(t *testing.T) {
	p := exampletest.Start(t, []string{"ADDR=127.0.0.1:0"}, "-demo")
	token := p.Line(t, "ey")
	base := strings.TrimPrefix(p.Line(t, "listening on "), "listening on ")
	req, _ := http.NewRequest("GET", base+"/orders", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /orders with the demo token: %d", resp.StatusCode)
	}
	if resp, err := http.Get(base + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("GET /readyz: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	p.Terminate(t)
	if code, stderr := p.Wait(); code != 0 || !strings.Contains(stderr, `"msg":"shutting down"`) {
		t.Fatalf("exit %d after SIGTERM, stderr:\n%s", code, stderr)
	}
}
