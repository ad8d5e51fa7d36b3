package echoauth_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/echoauth"
)

// Protect an Echo server and require a scope. Failures reach the
// application's HTTPErrorHandler as *echo.HTTPError: the client-safe
// description as Message, the core error as Internal.
func ExampleAuth_Require() {
	issuer := authtest.NewServer() // stands in for your authorization server
	defer issuer.Close()
	v, err := core.New(core.Config{Issuer: issuer.Issuer})
	if err != nil {
		panic(err)
	}
	defer v.Close()

	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			fmt.Printf("handler: %d %v (%v)\n", he.Code, he.Message, core.ReasonOf(he.Internal))
			_ = c.NoContent(he.Code)
		}
	}
	e.Use(echoauth.New(v).Require("orders-api"))
	e.GET("/orders", func(c echo.Context) error {
		claims, _ := echoauth.Claims(c)
		return c.String(http.StatusOK, "orders for "+claims.ClientID)
	}, echoauth.RequireScope("orders:read"))

	for _, token := range []string{issuer.Token("billing-api"), issuer.Token("orders-api", "orders:read")} {
		req := httptest.NewRequest(http.MethodGet, "/orders", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%d %s", rec.Code, rec.Header().Get("WWW-Authenticate"))))
	}
	// Output:
	// handler: 401 the token is not meant for this resource (audience)
	// 401 Bearer realm="api", error="invalid_token", error_description="the token is not meant for this resource"
	// 200
}
