package core_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

// I4: a discovery document for another issuer fails with both values
// named, and a near miss called one.
func TestI4DiscoveryMismatchNamesBothIssuers(t *testing.T) {
	srv := authtest.NewServer()
	defer srv.Close()
	other := authtest.NewServer(authtest.WithMetadataIssuer("https://login.example/tenant-b"))
	defer other.Close()
	for _, tc := range []struct{ name, configured, document, nearMiss string }{
		// The operator typed a trailing slash the issuer does not use.
		{"trailing slash", srv.Issuer + "/", srv.Issuer, "a near miss: they differ only in trailing slash"},
		{"another issuer", other.Issuer, "https://login.example/tenant-b", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := core.New(core.Config{Issuer: tc.configured})
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			err = v.Prefetch(t.Context())
			if !errors.Is(err, core.ErrKeySetUnavailable) {
				t.Fatalf("err = %v", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, `issuer "`+tc.document+`"`) || !strings.Contains(msg, `configured issuer is "`+tc.configured+`"`) {
				t.Errorf("error does not name both issuers: %s", msg)
			}
			if strings.Contains(msg, "near miss") != (tc.nearMiss != "") || !strings.Contains(msg, tc.nearMiss) {
				t.Errorf("near miss wrongly described: %s", msg)
			}
		})
	}
}

// I4: tokens refused for their issuer or audience are reported at Warn,
// once a minute, with the configured and the received values (sanitized)
// and near misses named; other refusals stay at Debug.
func TestI4RefusalsForIssuerAndAudienceWarnOnce(t *testing.T) {
	logs := &logCapture{}
	e := newEnv(t, core.Config{Logger: slog.New(logs)})
	e.prefetch(t)
	slash := e.srv.Claims(testAudience)
	slash["iss"] = e.srv.Issuer + "/"
	for range 50 {
		_, err := e.verify(e.mint(t, slash))
		expectReject(t, nil, err, core.ErrInvalidToken, core.ReasonIssuer)
	}
	if n := logs.count("WARN", "near miss of the configured issuer", "configured="+e.srv.Issuer, "received="+e.srv.Issuer+"/", "differs_in=trailing slash"); n != 1 {
		t.Errorf("%d issuer warnings, want 1:\n%s", n, strings.Join(logs.lines, "\n"))
	}
	if n := logs.count("DEBUG", "reason=issuer"); n != 49 {
		t.Errorf("%d debug lines for the rest, want 49", n)
	}
	hostile := e.srv.Claims(testAudience)
	hostile["iss"] = "https://evil.example/\r\nlevel=ERROR msg=forged"
	e.clock.Advance(time.Minute)
	_, _ = e.verify(e.mint(t, hostile))
	if n := logs.count("WARN", "not the configured issuer", "received=https://evil.example/??level=ERROR msg=forged"); n != 1 {
		t.Errorf("hostile issuer not logged once, sanitized:\n%s", strings.Join(logs.lines, "\n"))
	}

	aud := e.srv.Claims("ORDERS-API")
	_, err := e.verify(e.mint(t, aud))
	expectReject(t, nil, err, core.ErrInvalidToken, core.ReasonAudience)
	if n := logs.count("WARN", "audience is a near miss", "required=orders-api", "received=ORDERS-API", "differs_in=letter case"); n != 1 {
		t.Errorf("audience warning missing:\n%s", strings.Join(logs.lines, "\n"))
	}
	expired := e.srv.Claims(testAudience)
	expired["exp"] = e.clock.Now().Add(-time.Hour).Unix()
	_, _ = e.verify(e.mint(t, expired))
	if n := logs.count("WARN", "reason=expired"); n != 0 {
		t.Error("an expired token was logged at Warn")
	}
}
