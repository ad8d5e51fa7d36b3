// Command authorization holds the README's snippets on issuers and
// authority, compiled.
package main

import (
	"context"
	"errors"
	"log"
	"net/http"
	"regexp"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/ginauth"
)

func main() {
	mi, err := multiIssuer()
	if err != nil {
		log.Fatal(err)
	}
	defer mi.Close()
	dyn, err := entraTenants()
	if err != nil {
		log.Fatal(err)
	}
	defer dyn.Close()
	v, err := keycloak()
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	router := gin.New()
	stepUp(router, v)
	log.Print(http.ListenAndServe(":8080", router))
}

// readme:begin multiissuer
func multiIssuer() (*core.MultiIssuer, error) {
	// Tokens from either issuer, each checked against its own keys only; a
	// token naming neither is refused without any request.
	return core.NewMultiIssuer(
		core.Config{Issuer: "https://old-idp.example.com/"},
		core.Config{Issuer: "https://login.example.com/realms/orders"},
	)
}

// readme:end

// readme:begin dynamic
var entraIssuer = regexp.MustCompile(`^https://login\.microsoftonline\.com/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/v2\.0$`)

func entraTenants() (*core.MultiIssuer, error) {
	// One issuer per Entra tenant, admitted on its first token: at most 100
	// held, 10 new ones a minute, https only.
	return core.NewDynamicMultiIssuer(core.DynamicIssuers{
		Accept: entraIssuer.MatchString,
		Config: func(issuer string) core.Config { return core.Config{Algorithms: []string{"RS256"}} },
	})
}

// readme:end

// readme:begin scopeclaims
func keycloak() (*core.Verifier, error) {
	return core.New(core.Config{
		Issuer: "https://login.example.com/realms/orders",
		// Authority from Keycloak's realm roles and an Auth0-style claim, besides scope.
		ScopeClaims: []string{"scope", "permissions", "/realm_access/roles"},
		// Your own checks, after every built-in one (and on cache hits).
		Validate: func(ctx context.Context, c *core.Claims) error {
			var custom struct {
				Tenant string `json:"tenant_id"` // matched case-sensitively
			}
			if err := c.Decode(&custom); err != nil {
				return err
			}
			if custom.Tenant != "acme" {
				return errors.New("another tenant's token") // 401; the text is never sent
			}
			return nil
		},
	})
}

// readme:end

// readme:begin stepup
func stepUp(router *gin.Engine, v core.TokenVerifier) {
	router.Use(ginauth.New(v).Require("orders-api"))
	// Refunds need multi-factor authentication within the last 5 minutes;
	// otherwise 401 error="insufficient_user_authentication" tells the
	// client what to ask the authorization server for (RFC 9470).
	router.POST("/refunds", ginauth.RequireStepUp(core.StepUp{
		ACR:    []string{"urn:example:mfa"},
		MaxAge: 5 * time.Minute,
	}), func(c *gin.Context) { c.Status(http.StatusCreated) })
}

// readme:end
