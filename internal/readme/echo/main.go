// Command echo holds the README's Echo snippet, compiled.
package main

import (
	"log"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/echoauth"
)

func main() {
	v, err := core.New(core.Config{Issuer: "https://auth.example.com/"})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	log.Print(routes(v).Start(":8080"))
}

// readme:begin echo
func routes(v core.TokenVerifier) *echo.Echo {
	e := echo.New()
	e.HTTPErrorHandler = echoauth.HTTPErrorHandler(e, nil) // RFC 6750 JSON bodies, as the other adapters
	e.Use(echoauth.New(v,
		echoauth.WithSkipper(func(c echo.Context) bool { return c.Path() == "/health" }),
	).Require("orders-api"))
	e.GET("/health", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/orders", func(c echo.Context) error {
		claims, _ := echoauth.Claims(c)
		return c.JSON(http.StatusOK, map[string]string{"client": claims.ClientID})
	}, echoauth.RequireScope("orders:read"))
	return e
}

// readme:end
