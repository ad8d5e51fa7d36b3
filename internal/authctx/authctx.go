// Package authctx carries, in a request's context, what the middleware that
// authenticated the request decided — the verified claims, if any — and
// which middleware it was, so that route-level checks (scopes, step-up,
// sender constraints) answer with that middleware's settings: its realm,
// error handler and challenges. It knows no bearerkit types, so that core
// and every adapter can share it.
package authctx

import (
	"context"
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
// DPoP proof's key and of its TLS client certificate.
type binding struct{ jkt, x5t string }

// WithBinding returns ctx carrying the keys the request proved possession
// of ("" for none).
func WithBinding(ctx context.Context, jkt, x5tS256 string) context.Context {
	return context.WithValue(ctx, bindingKey{}, binding{jkt, x5tS256})
}

// Binding returns the keys the request proved possession of.
func Binding(ctx context.Context) (jkt, x5tS256 string) {
	b, _ := ctx.Value(bindingKey{}).(binding)
	return b.jkt, b.x5t
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
