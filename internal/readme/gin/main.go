// Command gin holds the README's Gin snippet, compiled.
package main

import (
	"log"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/ginauth"
)

func main() {
	v, err := core.New(core.Config{Issuer: "https://auth.example.com/"})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	log.Print(routes(v).Run(":8080"))
}

// readme:begin gin
func routes(v core.TokenVerifier) *gin.Engine {
	auth := ginauth.New(v,
		// Leave /health open, decided on the route Gin matched (not the raw URL).
		ginauth.WithSkipper(func(c *gin.Context) bool { return c.FullPath() == "/health" }),
	) // also: WithRealm, WithCookie, WithExtractor, WithOptionalCredentials, WithErrorHandler
	router := gin.New()
	router.Use(gin.Recovery(), auth.Require("orders-api"))
	router.GET("/health", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	router.GET("/orders", ginauth.RequireScope("orders:read"), func(c *gin.Context) {
		claims, _ := ginauth.Claims(c)
		c.JSON(http.StatusOK, gin.H{"client": claims.ClientID})
	})
	router.POST("/orders", ginauth.RequireAnyScope("orders:write", "orders:admin"), createOrder)
	return router
}

func createOrder(c *gin.Context) { c.JSON(http.StatusCreated, gin.H{"id": "o-3"}) }

// readme:end
