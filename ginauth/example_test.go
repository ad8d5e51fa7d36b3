package ginauth_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/ginauth"
)

// Protect a Gin router, leave /health open, and require a scope per route;
// a route-level failure is answered with the realm of the Auth.
func ExampleAuth_Require() {
	issuer := authtest.NewServer() // stands in for your authorization server
	defer issuer.Close()
	v, err := core.New(core.Config{Issuer: issuer.Issuer})
	if err != nil {
		panic(err)
	}
	defer v.Close()

	gin.SetMode(gin.ReleaseMode)
	router := gin.New()
	router.Use(ginauth.New(v,
		ginauth.WithRealm("orders"),
		ginauth.WithSkipper(func(c *gin.Context) bool { return c.FullPath() == "/health" }),
	).Require("orders-api"))
	router.GET("/health", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	router.GET("/orders", ginauth.RequireScope("orders:read"), func(c *gin.Context) {
		claims, _ := ginauth.Claims(c)
		c.String(http.StatusOK, "orders for "+claims.ClientID)
	})

	for _, call := range []struct{ path, token string }{
		{"/health", ""},
		{"/orders", ""},
		{"/orders", issuer.Token("orders-api", "orders:write")},
		{"/orders", issuer.Token("orders-api", "orders:read")},
	} {
		req := httptest.NewRequest(http.MethodGet, call.path, nil)
		if call.token != "" {
			req.Header.Set("Authorization", "Bearer "+call.token)
		}
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s %d %s", call.path, rec.Code, rec.Header().Get("WWW-Authenticate"))))
	}
	// Output:
	// /health 200
	// /orders 401 Bearer realm="orders"
	// /orders 403 Bearer realm="orders", error="insufficient_scope", scope="orders:read"
	// /orders 200
}
