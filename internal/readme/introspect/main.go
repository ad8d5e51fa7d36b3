// Command introspect holds the README's introspection snippet, compiled.
package main

import (
	"log"
	"net/http"
	"os"

	"github.com/gin-gonic/gin"

	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/ginauth"
	"github.com/bearerkit/bearerkit/introspect"
)

func main() {
	router, err := routes(os.Getenv("INTROSPECTION_SECRET"))
	if err != nil {
		log.Fatal(err)
	}
	log.Print(http.ListenAndServe(":8080", router))
}

// readme:begin introspect
func routes(secret string) (*gin.Engine, error) {
	in, err := introspect.New(introspect.Config{
		Issuer:   "https://auth.example.com/", // introspection_endpoint is discovered
		ClientID: "orders-api", ClientSecret: secret,
		// For Ory Hydra's admin port: URL: "http://hydra-admin:4445/admin/oauth2/introspect",
		// AuthMethod: introspect.None.
	})
	if err != nil {
		return nil, err
	}
	jwts, err := core.New(core.Config{Issuer: "https://auth.example.com/"})
	if err != nil {
		return nil, err
	}
	// JWTs are verified locally; every other token is introspected.
	router := gin.New()
	router.Use(ginauth.New(introspect.Combine(jwts, in)).Require("orders-api"))
	router.GET("/orders", ginauth.RequireScope("orders:read"), func(c *gin.Context) { c.Status(http.StatusOK) })
	router.GET("/readyz", gin.WrapH(core.ReadinessHandler(jwts, in)))
	return router, nil
}

// readme:end
