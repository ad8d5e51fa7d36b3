package core

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bearerkit/bearerkit/internal/safetext"
)

// Refusals are logged so that an operator can tell why requests fail
// without drowning in attacker noise. Failures that usually mean the
// configuration and the issuer disagree — another issuer, another
// audience, a key id the issuer does not publish even after a refetch — are
// logged at Warn, at most once a minute per kind, with the configured and
// the received values (sanitized and truncated: they come from unverified
// tokens). Every other refusal is logged at Debug. The request's context is
// passed to the logger, so handlers can add trace ids. Tokens are never
// logged.

const warnEvery = time.Minute

// refusal is what a refused verification had read when it stopped.
type refusal struct {
	h        *header
	claims   *tokenClaims
	audience []string // asked for
}

// warnLimiter lets one Warn per kind through per interval.
type warnLimiter struct {
	next [3]atomic.Int64 // unix nanoseconds, per warnKind
}

func warnKind(r Reason) (int, bool) {
	switch r {
	case ReasonIssuer:
		return 0, true
	case ReasonAudience:
		return 1, true
	case ReasonUnknownKey:
		return 2, true
	}
	return 0, false
}

func (l *warnLimiter) allow(kind int, now time.Time) bool {
	slot := &l.next[kind]
	next := slot.Load()
	return now.UnixNano() >= next && slot.CompareAndSwap(next, now.Add(warnEvery).UnixNano())
}

// rejected logs a refusal and returns err.
func (v *Verifier) rejected(ctx context.Context, err error, at refusal) error {
	var reason Reason
	if e, ok := err.(*Error); ok {
		reason = e.Reason
	}
	if kind, ok := warnKind(reason); ok && v.log.Enabled(ctx, slog.LevelWarn) && v.warns.allow(kind, v.s.Now()) {
		v.warnRefusal(ctx, reason, at)
		return err
	}
	if v.log.Enabled(ctx, slog.LevelDebug) {
		attrs := []any{"issuer", v.s.Issuer, "reason", string(reason)}
		if at.h != nil {
			attrs = append(attrs, "alg", at.h.alg.String(), "kid", truncate(at.h.kid, 64))
		}
		v.log.DebugContext(ctx, "bearerkit: token rejected", attrs...)
	}
	return err
}

func (v *Verifier) warnRefusal(ctx context.Context, reason Reason, at refusal) {
	switch reason {
	case ReasonIssuer:
		got := ""
		if at.claims != nil {
			got = at.claims.Issuer
		}
		attrs := []any{"reason", string(reason), "configured", v.s.Issuer, "received", truncate(got, 200)}
		msg := "bearerkit: tokens refused: their issuer is not the configured issuer"
		if d := safetext.NearMiss(v.s.Issuer, got); d != "" {
			msg = "bearerkit: tokens refused: their issuer is a near miss of the configured issuer"
			attrs = append(attrs, "differs_in", d)
		}
		v.log.WarnContext(ctx, msg, attrs...)
	case ReasonAudience:
		var got []string
		if at.claims != nil {
			got = at.claims.Audience
		}
		attrs := []any{"reason", string(reason), "issuer", v.s.Issuer, "required", listForLog(at.audience), "received", listForLog(got)}
		msg := "bearerkit: tokens refused: their audience does not include a required one"
		for _, want := range at.audience {
			for _, g := range got {
				if d := safetext.NearMiss(want, g); d != "" {
					msg = "bearerkit: tokens refused: their audience is a near miss of a required one"
					attrs = append(attrs, "differs_in", d)
					v.log.WarnContext(ctx, msg, attrs...)
					return
				}
			}
		}
		v.log.WarnContext(ctx, msg, attrs...)
	case ReasonUnknownKey:
		kid := ""
		if at.h != nil {
			kid = at.h.kid
		}
		v.log.WarnContext(ctx, "bearerkit: tokens refused: their key id is not in the issuer's key set, even after a refetch",
			"reason", string(reason), "issuer", v.s.Issuer, "kid", truncate(kid, 64))
	}
}

// listForLog renders at most 5 values, each sanitized and truncated.
func listForLog(list []string) string {
	var b strings.Builder
	for i, s := range list {
		if i == 5 {
			b.WriteString(" …")
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(truncate(s, 100))
	}
	return b.String()
}
