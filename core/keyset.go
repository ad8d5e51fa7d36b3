package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/json"
)

// keySet is an immutable, fully parsed JWKS. A refresh builds a new one and
// swaps it in atomically; readers never lock.
type keySet struct {
	gen       uint64 // increases with every set loaded by a verifier
	keys      []*verificationKey
	byKid     map[string][]*verificationKey
	fetchedAt time.Time
	refreshAt time.Time // when a background refresh starts
	skipped   int
}

const maxSkipLogs = 10

type lookupResult uint8

const (
	keysFound lookupResult = iota
	kidUnknown
	kidWrongAlg // the kid exists but no key under it fits the alg
	kidAmbiguous
)

// lookup returns the keys a token may be checked against. With a kid, the
// match is exact and must leave exactly one key that fits the algorithm.
// Without one, at most maxKidlessKeysTried keys of the right type are
// tried, in JWKS order, so a kid-less token cannot make the verifier walk a
// large set.
func (s *keySet) lookup(h *header, dst []*verificationKey) ([]*verificationKey, lookupResult) {
	if h.hasKid {
		list, ok := s.byKid[h.kid]
		if !ok {
			return nil, kidUnknown
		}
		var found *verificationKey
		for _, k := range list {
			if k.algs.Has(h.alg) {
				if found != nil {
					return nil, kidAmbiguous
				}
				found = k
			}
		}
		if found == nil {
			return nil, kidWrongAlg
		}
		return append(dst, found), keysFound
	}
	for _, k := range s.keys {
		if k.algs.Has(h.alg) {
			dst = append(dst, k)
			if len(dst) == maxKidlessKeysTried {
				break
			}
		}
	}
	if len(dst) == 0 {
		return nil, kidWrongAlg
	}
	return dst, keysFound
}

// parseKeySet parses a JWKS document (RFC 7517 §5). Entries are parsed one
// by one; unusable ones are skipped and logged. A document with no usable
// key is an error, so that a bad refresh never replaces good keys.
func parseKeySet(body []byte, log *slog.Logger) (*keySet, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, errors.New("JWKS is not a JSON object with a keys array")
	}
	set := &keySet{byKid: make(map[string][]*verificationKey)}
	for i, raw := range doc.Keys {
		if len(set.keys) == maxKeysPerSet {
			set.skipped += len(doc.Keys) - i
			log.Warn("bearerkit: JWKS has more keys than are kept", "kept", maxKeysPerSet, "ignored", len(doc.Keys)-i)
			break
		}
		k, kid, err := parseJWK(raw)
		if err != nil {
			set.skipped++
			level := slog.LevelDebug
			if errors.Is(err, errPrivateKey) {
				level = slog.LevelWarn
			}
			// Log the first few: a hostile set must not flood the logs.
			if set.skipped <= maxSkipLogs {
				log.Log(context.Background(), level, "bearerkit: JWKS key skipped", "index", i, "kid", truncate(kid, 64), "reason", err.Error())
			}
			continue
		}
		k.index = len(set.keys)
		set.keys = append(set.keys, k)
		set.byKid[k.kid] = append(set.byKid[k.kid], k)
	}
	if set.skipped > maxSkipLogs {
		log.Warn("bearerkit: more JWKS keys skipped", "count", set.skipped-maxSkipLogs)
	}
	if len(set.keys) == 0 {
		return nil, fmt.Errorf("JWKS has no usable key (%d entries skipped)", set.skipped)
	}
	return set, nil
}

// maxAge reads a Cache-Control max-age (RFC 9111 §5.2.2.1). no-store and
// no-cache count as zero (then clamped to the minimum TTL); anything
// unparseable counts as absent.
func maxAge(cacheControl string) (time.Duration, bool) {
	for _, d := range strings.Split(cacheControl, ",") {
		d = strings.TrimSpace(d)
		name, val, _ := strings.Cut(d, "=")
		switch strings.ToLower(name) {
		case "no-store", "no-cache":
			return 0, true
		case "max-age":
			n, err := strconv.ParseUint(strings.Trim(val, `"`), 10, 32)
			if err != nil {
				return 0, false
			}
			return time.Duration(n) * time.Second, true
		}
	}
	return 0, false
}
