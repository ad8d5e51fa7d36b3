// Command gin is a Gin API protected by bearerkit.
//
//	BEARERKIT_ISSUER=https://auth.example.com/ BEARERKIT_AUDIENCE=orders-api go run ./examples/gin
//
// Without BEARERKIT_ISSUER it starts an embedded authtest issuer (for demos
// only) and prints a token to try with curl.
package main

import (
	"log"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/examples/internal/demo"
	"github.com/bearerkit/bearerkit/ginauth"
)

func main() {
	s := demo.FromEnv()
	defer s.Close()
	v, err := core.New(core.Config{Issuer: s.Issuer})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	log.Fatal(newRouter(v, s.Audience).Run(s.Addr))
}

// newRouter serves GET /health openly, and GET /orders (orders:read) and
// DELETE /orders/:id (orders:write or orders:admin) behind bearerkit.
func newRouter(v *core.Verifier, audience string) *gin.Engine {
	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/health", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	api := r.Group("/", ginauth.New(v).Require(audience))
	api.GET("/orders", ginauth.RequireScope("orders:read"), func(c *gin.Context) {
		claims, _ := ginauth.Claims(c)
		c.JSON(http.StatusOK, gin.H{"client": claims.ClientID, "orders": []string{"o-1"}})
	})
	api.DELETE("/orders/:id", ginauth.RequireAnyScope("orders:write", "orders:admin"), func(c *gin.Context) {
		c.Status(http.StatusNoContent)
	})
	return r
}
