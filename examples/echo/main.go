// Command echo is an Echo API protected by bearerkit.
//
//	BEARERKIT_ISSUER=https://auth.example.com/ BEARERKIT_AUDIENCE=orders-api go run ./examples/echo
//
// Without BEARERKIT_ISSUER it starts an embedded authtest issuer (for demos
// only) and prints a token to try with curl.
package main

import (
	"log"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/echoauth"
	"github.com/bearerkit/bearerkit/examples/internal/demo"
)

func main() {
	s := demo.FromEnv()
	defer s.Close()
	v, err := core.New(core.Config{Issuer: s.Issuer})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	log.Fatal(newServer(v, s.Audience).Start(s.Addr))
}

// newServer serves GET /health openly (skipped by routed path) and
// GET /orders (orders:read) behind bearerkit.
func newServer(v *core.Verifier, audience string) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.Use(echoauth.New(v, echoauth.WithSkipper(func(c echo.Context) bool { return c.Path() == "/health" })).Require(audience))
	e.GET("/health", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/orders", func(c echo.Context) error {
		claims, _ := echoauth.Claims(c)
		return c.JSON(http.StatusOK, map[string]any{"client": claims.ClientID, "orders": []string{"o-1"}})
	}, echoauth.RequireScope("orders:read"))
	return e
}
