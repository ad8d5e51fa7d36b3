package introspect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/internal/fetch"
	"github.com/bearerkit/bearerkit/internal/jose"
)

const (
	jsonType = "application/json"
	jwtType  = "application/token-introspection+jwt" // RFC 9701 §5
)

// introspect makes one introspection request (RFC 7662 §2.1) and reads the
// answer (§2.2). An error means the endpoint could not give a usable
// answer; an inactive token is an answer.
func (in *Introspector) introspect(ctx context.Context, token string) (*answer, error) {
	ctx, cancel := context.WithTimeout(ctx, in.s.Timeout)
	defer cancel()
	endpoint, err := in.endpointURL(ctx)
	if in.s.Hooks.Fetch != nil {
		ctx = fetch.WithKind(ctx, string(core.FetchIntrospection))
	}
	if err != nil {
		return nil, err
	}
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, nil)
	if err != nil {
		return nil, errors.New("invalid endpoint URL")
	}
	assertion, err := in.s.auth.Authenticate(req, form, endpoint, in.s.Now())
	if err != nil {
		return nil, fmt.Errorf("signing the client assertion: %w", err)
	}
	red := in.redact.With(token).With(assertion)
	body := form.Encode()
	req.Body = readCloser(body)
	req.GetBody = func() (io.ReadCloser, error) { return readCloser(body), nil }
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", fetch.UserAgent)
	accept := jsonType
	if in.s.JWTResponses {
		accept = jwtType
	}
	req.Header.Set("Accept", accept)
	resp, err := in.client.Do(req)
	if err != nil {
		return nil, errors.New(red.Clean(err.Error()))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// 401 here means the server refused the resource server's own
		// credentials: a configuration problem, not the token's.
		return nil, fmt.Errorf("HTTP status %d", resp.StatusCode)
	}
	raw, err := fetch.ReadBody(resp.Body, in.s.MaxResponseSize)
	if err != nil {
		return nil, errors.New(red.Clean(err.Error()))
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if in.s.JWTResponses {
		if ct != jwtType {
			return nil, fmt.Errorf("a %q answer where an RFC 9701 JWT was asked for", ct)
		}
		if raw, err = in.unwrapJWT(ctx, raw); err != nil {
			return nil, err
		}
	} else if ct != jsonType {
		return nil, fmt.Errorf("a %q answer where JSON was asked for", ct)
	}
	return in.read(raw)
}

// read turns a response object into an answer. Anything but active: true
// is inactive (RFC 7662 §2.2: "true", 1, a missing or a repeated active).
func (in *Introspector) read(raw []byte) (*answer, error) {
	var buf [24]jose.Member
	members, err := jose.ScanObject(raw, buf[:0])
	switch {
	case errors.Is(err, jose.ErrDuplicate):
		return &answer{}, nil // two answers in one: no answer is trusted
	case err != nil:
		return nil, errors.New("the answer is not a JSON object")
	}
	active := false
	for i := range members {
		if string(members[i].Name) == "active" && !members[i].Escaped {
			active = members[i].Kind == jose.KindTrue
		}
	}
	if !active {
		return &answer{}, nil
	}
	c, err := core.ParseClaims(raw, in.s.ScopeClaims)
	if err != nil {
		return &answer{err: err}, nil // the server's answer, not a failure
	}
	if in.s.Issuer != "" && c.Issuer != "" && c.Issuer != in.s.Issuer {
		return &answer{err: &core.Error{Reason: core.ReasonIssuer}}, nil
	}
	return &answer{claims: c, size: len(raw)}, nil
}

// unwrapJWT verifies an RFC 9701 answer with the issuer's key set and
// returns the introspection response it carries: iss must be the issuer,
// aud the client, and iat present (§5).
func (in *Introspector) unwrapJWT(ctx context.Context, raw []byte) ([]byte, error) {
	payload, err := in.jwt.VerifySigned(ctx, strings.TrimSpace(string(raw)), "token-introspection+jwt")
	if err != nil {
		return nil, fmt.Errorf("the JWT answer: %w", err)
	}
	var buf [8]jose.Member
	members, err := jose.ScanObject(payload, buf[:0])
	if err != nil {
		return nil, errors.New("the JWT answer's claims are not a JSON object")
	}
	var inner []byte
	var iss, aud, iat bool
	for i := range members {
		m := &members[i]
		switch string(m.Name) {
		case "iss":
			iss = m.Kind == jose.KindString && m.StringValue() == in.s.Issuer
		case "aud":
			aud = audienceHas(m, in.s.ClientID)
		case "iat":
			iat = m.Kind == jose.KindNumber
		case "token_introspection":
			if m.Kind == jose.KindObject {
				inner = m.Value
			}
		}
	}
	if !iss || !aud || !iat || inner == nil {
		return nil, errors.New("the JWT answer lacks iss, aud, iat or token_introspection as RFC 9701 §5 requires")
	}
	return inner, nil
}

func audienceHas(m *jose.Member, want string) bool {
	switch m.Kind {
	case jose.KindString:
		return m.StringValue() == want
	case jose.KindArray:
		list, err := m.ArrayStrings()
		return err == nil && anyOf(list, []string{want})
	}
	return false
}

// endpointURL returns the introspection endpoint, discovering it once.
// Only a request in flight calls it; two may discover at once, harmlessly.
func (in *Introspector) endpointURL(ctx context.Context) (string, error) {
	in.mu.Lock()
	u := in.endpoint
	in.mu.Unlock()
	if u != "" {
		return u, nil
	}
	if in.s.Hooks.Fetch != nil {
		ctx = fetch.WithKind(ctx, string(core.FetchDiscovery))
	}
	md, err := fetch.Discover(ctx, in.client, in.s.Issuer, in.s.MaxResponseSize)
	if err != nil {
		return "", err
	}
	if md.IntrospectionEndpoint == "" {
		return "", errors.New("discovery: the metadata has no introspection_endpoint")
	}
	if err := fetch.CheckURL(md.IntrospectionEndpoint, in.s.AllowInsecureHTTP); err != nil {
		return "", fmt.Errorf("discovery: introspection_endpoint: %w", err)
	}
	in.mu.Lock()
	in.endpoint = md.IntrospectionEndpoint
	in.mu.Unlock()
	return md.IntrospectionEndpoint, nil
}
