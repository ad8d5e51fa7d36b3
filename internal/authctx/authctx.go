// Package authctx carries, in a request's context, what the middleware that
// authenticated the request decided — the verified claims, if any — and
// which middleware it was, so that route-level checks (scopes, step-up,
// sender constraints) answer with that middleware's settings: its realm,
// error handler and challenges. It knows no bearerkit types, so that core
// and every adapter can share it.
package authctx

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

type key struct{}

// entry is the request's context with the record added, in one
// allocation.
type entry struct {
	context.Context
	claims any // *core.Claims, or nil for a request let through without a token
	owner  any // the middleware that handled the request
}

func (e *entry) Value(k any) any {
	if k == (key{}) {
		return e
	}
	return e.Context.Value(k)
}

// With returns ctx carrying claims (nil when the request carries none) and
// the middleware that decided.
func With(ctx context.Context, claims, owner any) context.Context {
	return &entry{Context: ctx, claims: claims, owner: owner}
}

// Claims returns the claims stored by the middleware, or nil.
func Claims(ctx context.Context) any {
	if e, ok := ctx.Value(key{}).(*entry); ok {
		return e.claims
	}
	return nil
}

// Owner returns the middleware that handled the request, or nil when none
// did.
func Owner(ctx context.Context) any {
	if e, ok := ctx.Value(key{}).(*entry); ok {
		return e.owner
	}
	return nil
}

type bindingKey struct{}

// binding is what the request proved possession of: the thumbprint of its
// DPoP proof's key, and its TLS client certificate (DER).
type binding struct {
	jkt  string
	cert []byte
}

// WithBinding returns ctx carrying what the request proved possession of:
// the RFC 7638 thumbprint of its DPoP proof's key and the DER bytes of its
// client certificate (either empty for none).
func WithBinding(ctx context.Context, jkt string, cert []byte) context.Context {
	return context.WithValue(ctx, bindingKey{}, binding{jkt, cert})
}

// Binding returns the DPoP key thumbprint the request proved possession
// of, and the RFC 8705 x5t#S256 of its client certificate: base64url
// SHA-256 of the DER bytes, hashed only when asked for.
func Binding(ctx context.Context) (jkt, x5tS256 string) {
	b, _ := ctx.Value(bindingKey{}).(binding)
	if len(b.cert) > 0 {
		sum := sha256.Sum256(b.cert)
		x5tS256 = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return b.jkt, x5tS256
}

// MustAudience panics when audience is empty or holds "": middleware built
// that way would be a programming error, caught at start-up rather than by
// the first request.
func MustAudience(audience []string) {
	if !NonEmpty(audience) {
		panic("bearerkit: middleware needs at least one non-empty audience")
	}
}

// MustScopes panics when scopes is empty or holds "": a scope check that
// requires nothing would silently open the route.
func MustScopes(scopes []string) {
	if !NonEmpty(scopes) {
		panic("bearerkit: a scope requirement needs at least one non-empty scope")
	}
}

// MustStepUp panics when a step-up requirement requires nothing (no acr
// values and no maximum age) or holds an empty acr value: it would
// silently open the route.
func MustStepUp(acr []string, maxAge time.Duration) {
	if len(acr) == 0 && maxAge <= 0 {
		panic("bearerkit: a step-up requirement needs ACR values or a MaxAge")
	}
	for _, v := range acr {
		if v == "" {
			panic("bearerkit: a step-up requirement holds an empty ACR value")
		}
	}
}

// NonEmpty reports whether list has at least one element and no empty one.
func NonEmpty(list []string) bool {
	if len(list) == 0 {
		return false
	}
	for _, s := range list {
		if s == "" {
			return false
		}
	}
	return true
}
