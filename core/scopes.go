package core

import (
	"github.com/bearerkit/bearerkit/internal/jose"

	"errors"
	"fmt"
	"strings"
)

// scopeSources says which claims carry a token's authority: top-level
// claim names, and RFC 6901 JSON Pointers into nested objects (Keycloak's
// /realm_access/roles). Every source's values are merged into
// Claims.Scopes.
type scopeSources struct {
	names    []string   // top-level claims
	pointers [][]string // paths of two or more segments, the first a top-level claim
}

var defaultScopeSources = scopeSources{names: []string{"scope", "scp"}}

// compileScopeClaims reads Config.ScopeClaims: claim names, or JSON
// Pointers when they start with "/" (~1 stands for "/" and ~0 for "~").
func compileScopeClaims(list []string) (scopeSources, error) {
	if list == nil {
		return defaultScopeSources, nil
	}
	if len(list) == 0 {
		return scopeSources{}, errors.New("bearerkit: Config.ScopeClaims is empty (nil means scope and scp)")
	}
	var s scopeSources
	for _, entry := range list {
		path := []string{entry}
		if strings.HasPrefix(entry, "/") {
			var err error
			if path, err = parsePointer(entry); err != nil {
				return scopeSources{}, fmt.Errorf("bearerkit: Config.ScopeClaims %q: %w", entry, err)
			}
		}
		if path[0] == "" {
			return scopeSources{}, fmt.Errorf("bearerkit: Config.ScopeClaims %q names no claim", entry)
		}
		if len(path) == 1 {
			s.names = append(s.names, path[0])
		} else {
			s.pointers = append(s.pointers, path)
		}
	}
	return s, nil
}

// parsePointer splits an RFC 6901 JSON Pointer into its reference tokens.
func parsePointer(p string) ([]string, error) {
	parts := strings.Split(p[1:], "/")
	for i, t := range parts {
		for j := 0; j < len(t); j++ {
			if t[j] == '~' && (j+1 == len(t) || (t[j+1] != '0' && t[j+1] != '1')) {
				return nil, errors.New("a ~ must be followed by 0 or 1 (RFC 6901 §3)")
			}
		}
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return parts, nil
}

// read appends the scopes that jose.Member m (named name) carries, if it is a
// scope source or the root of one. ok is false when a source holds the
// wrong JSON type, which refuses the token.
func (s *scopeSources) read(dst []string, name []byte, m *jose.Member) ([]string, bool) {
	for _, n := range s.names {
		if string(name) != n {
			continue
		}
		if n == "scope" && m.Kind != jose.KindString {
			return dst, false // RFC 8693 §4.2: a space-delimited string
		}
		var ok bool
		if dst, ok = appendScopeClaim(dst, m); !ok {
			return dst, false
		}
	}
	for _, p := range s.pointers {
		if string(name) != p[0] {
			continue
		}
		target, found, ok := resolvePointer(*m, p[1:])
		if !ok {
			return dst, false
		}
		if found {
			if dst, ok = appendScopeClaim(dst, &target); !ok {
				return dst, false
			}
		}
	}
	return dst, true
}

// resolvePointer follows path down from m through nested objects. found
// is false when a jose.Member on the way is absent; ok is false when a value on
// the way is not an object.
func resolvePointer(m jose.Member, path []string) (target jose.Member, found, ok bool) {
	for _, seg := range path {
		if m.Kind != jose.KindObject {
			return jose.Member{}, false, false
		}
		var buf [16]jose.Member
		members, err := jose.ScanObject(m.Value, buf[:0])
		if err != nil {
			return jose.Member{}, false, false
		}
		found = false
		for i := range members {
			name := members[i].Name
			if members[i].Escaped {
				name = []byte(jose.Unescape(name))
			}
			if string(name) == seg {
				m, found = members[i], true
				break
			}
		}
		if !found {
			return jose.Member{}, false, true
		}
	}
	return m, true, true
}

// appendScopeClaim reads a claim that carries scopes: a space-delimited
// string, or an array of strings in which each element is one scope. An
// element holding a space, or an empty one, refuses the token: splitting it
// would grant scopes that no element names.
func appendScopeClaim(dst []string, m *jose.Member) ([]string, bool) {
	switch m.Kind {
	case jose.KindString:
		return appendScopes(dst, m.StringValue()), true
	case jose.KindArray:
		list, err := m.ArrayStrings()
		if err != nil {
			return dst, false
		}
		for _, s := range list {
			if s == "" || strings.IndexByte(s, ' ') >= 0 {
				return dst, false
			}
			dst = appendScopes(dst, s)
		}
		return dst, true
	}
	return dst, false
}
