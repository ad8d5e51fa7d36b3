package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"

	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/echoauth"
	"github.com/bearerkit/bearerkit/ginauth"
)

// The protected routes of both test APIs and the authority they require.
const (
	ordersPath = "/orders"
	readScope  = "orders:read"
	writeScope = "orders:write"
	adminPath  = "/admin" // requires adminRole, which only a roles claim grants
	adminRole  = "orders:admin"
)

func init() { gin.SetMode(gin.TestMode) }

// whoami is what the protected route answers: the verified claims the
// adapter handed to the handler.
type whoami struct {
	ClientID string   `json:"client_id"`
	Subject  string   `json:"sub"`
	Audience []string `json:"aud"`
	Scopes   []string `json:"scopes"`
}

func whoamiOf(c *core.Claims) whoami {
	return whoami{ClientID: c.ClientID, Subject: c.Subject, Audience: c.Audience, Scopes: c.Scopes}
}

// api is one protected HTTP API on a loopback port.
type api struct {
	name string
	url  string // base URL
}

// newAPIs starts a Gin API (ginauth) and an Echo API (echoauth) that
// share v and protect GET /orders for the audiences with the read scope,
// and GET /admin with the admin role.
func newAPIs(t *testing.T, v core.TokenVerifier, audience ...string) []api {
	t.Helper()

	ginShow := func(c *gin.Context) {
		claims, ok := ginauth.Claims(c)
		if !ok {
			c.AbortWithStatus(http.StatusInternalServerError)
			return
		}
		c.JSON(http.StatusOK, whoamiOf(claims))
	}
	router := gin.New()
	router.Use(ginauth.New(v).Require(audience...))
	router.GET(ordersPath, ginauth.RequireScope(readScope), ginShow)
	router.GET(adminPath, ginauth.RequireScope(adminRole), ginShow)
	ginSrv := httptest.NewServer(router)
	t.Cleanup(ginSrv.Close)

	echoShow := func(c echo.Context) error {
		claims, ok := echoauth.Claims(c)
		if !ok {
			return echo.NewHTTPError(http.StatusInternalServerError)
		}
		return c.JSON(http.StatusOK, whoamiOf(claims))
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = echoauth.HTTPErrorHandler(e, nil)
	e.Use(echoauth.New(v).Require(audience...))
	e.GET(ordersPath, echoShow, echoauth.RequireScope(readScope))
	e.GET(adminPath, echoShow, echoauth.RequireScope(adminRole))
	echoSrv := httptest.NewServer(e)
	t.Cleanup(echoSrv.Close)

	return []api{{name: "gin", url: ginSrv.URL}, {name: "echo", url: echoSrv.URL}}
}

// answer is what an API said to one request.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// call sends GET /orders with token as a bearer token ("" sends none).
func (a api) call(t *testing.T, token string) answer {
	t.Helper()
	return a.callWith(t, http.DefaultClient, token)
}

func (a api) callWith(t *testing.T, client *http.Client, token string) answer {
	t.Helper()
	return a.get(t, client, ordersPath, token)
}

// get sends GET path with token as a bearer token ("" sends none).
func (a api) get(t *testing.T, client *http.Client, path, token string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s: GET %s: %v", a.name, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("%s: reading body: %v", a.name, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: body}
}

// expectOK checks a 200 answer and returns what the handler saw.
func (a api) expectOK(t *testing.T, ans answer) whoami {
	t.Helper()
	if ans.status != http.StatusOK {
		t.Fatalf("%s: status %d, want 200; WWW-Authenticate %q; body %s", a.name, ans.status, ans.header.Get("WWW-Authenticate"), ans.body)
	}
	var w whoami
	if err := json.Unmarshal(ans.body, &w); err != nil {
		t.Fatalf("%s: body %s: %v", a.name, ans.body, err)
	}
	return w
}

// refusal is an RFC 6750 answer the suite expects.
type refusal struct {
	status     int
	challenge  string // the exact WWW-Authenticate value; "" means none
	retryAfter string // the exact Retry-After value; "" means none
	// retryAfterMax, when set, takes the place of retryAfter: a number of
	// seconds from 1 to this.
	retryAfterMax int
	code          string // the "error" member of the JSON body
}

var (
	refusedNoToken = refusal{status: http.StatusUnauthorized, challenge: `Bearer realm="api"`, code: "unauthorized"}
	refusedScope   = refusal{status: http.StatusForbidden,
		challenge: `Bearer realm="api", error="insufficient_scope", scope="` + readScope + `"`, code: "insufficient_scope"}
	refusedAudience = refusal{status: http.StatusUnauthorized,
		challenge: `Bearer realm="api", error="invalid_token", error_description="the token is not meant for this resource"`, code: "invalid_token"}
	refusedInvalid = refusal{status: http.StatusUnauthorized,
		challenge: `Bearer realm="api", error="invalid_token", error_description="the token is invalid"`, code: "invalid_token"}
	refusedUnavailable = refusal{status: http.StatusServiceUnavailable, retryAfterMax: 2, code: "temporarily_unavailable"}
)

func (a api) expectRefusal(t *testing.T, ans answer, want refusal) {
	t.Helper()
	if ans.status != want.status {
		t.Errorf("%s: status %d, want %d; body %s", a.name, ans.status, want.status, ans.body)
	}
	if got := ans.header.Get("WWW-Authenticate"); got != want.challenge {
		t.Errorf("%s: WWW-Authenticate %q, want %q", a.name, got, want.challenge)
	}
	got := ans.header.Get("Retry-After")
	if n, err := strconv.Atoi(got); want.retryAfterMax > 0 && (err != nil || n < 1 || n > want.retryAfterMax) {
		t.Errorf("%s: Retry-After %q, want 1 to %d", a.name, got, want.retryAfterMax)
	} else if want.retryAfterMax == 0 && got != want.retryAfter {
		t.Errorf("%s: Retry-After %q, want %q", a.name, got, want.retryAfter)
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(ans.body, &body); err != nil {
		t.Errorf("%s: body %q is not JSON: %v", a.name, ans.body, err)
		return
	}
	if body.Error != want.code || body.Description == "" {
		t.Errorf("%s: body %s, want error %q with a description", a.name, ans.body, want.code)
	}
}
