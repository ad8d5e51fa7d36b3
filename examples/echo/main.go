// Command echo is an Echo API protected by bearerkit.
//
//	BEARERKIT_ISSUER=https://auth.example.com/ BEARERKIT_AUDIENCE=orders-api go run ./examples/echo
//
// Without BEARERKIT_ISSUER it starts an embedded authtest issuer (for demos
// only) and prints a token to try with curl.
package main

import (
	"cmp"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/labstack/echo/v4"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/echoauth"
)

func main() {
	addr := cmp.Or(os.Getenv("ADDR"), "127.0.0.1:8080")
	audience := cmp.Or(os.Getenv("BEARERKIT_AUDIENCE"), "orders-api")
	issuer := os.Getenv("BEARERKIT_ISSUER")
	if issuer == "" {
		demo := authtest.NewServer()
		defer demo.Close()
		issuer = demo.Issuer
		fmt.Printf("demo issuer %s\ntry: curl -H 'Authorization: Bearer %s' http://%s/orders\n", issuer, demo.Token(audience, "orders:read"), addr)
	}
	v, err := core.New(core.Config{Issuer: issuer})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	log.Fatal(newServer(v, audience).Start(addr))
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
