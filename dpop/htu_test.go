package dpop_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/bearerkit/bearerkit/dpop"
)

// TestL2TargetURI: htu of another URL (scheme, host, port, path, case
// tricks, query or fragment added) → refused; the spellings RFC 3986
// §6.2.2 and §6.2.3 call equivalent → accepted.
func TestL2TargetURI(t *testing.T) {
	const api = "https://api.example.com/orders"
	tests := []struct {
		name, htu, request string
		ok                 bool
	}{
		{"identical", api, api, true},
		{"scheme and host in upper case", "HTTPS://API.Example.COM/orders", api, true},
		{"request host in upper case", api, "https://API.EXAMPLE.COM/orders", true},
		{"default port written", "https://api.example.com:443/orders", api, true},
		{"default port on the request", api, "https://api.example.com:443/orders", true},
		{"empty port", "https://api.example.com:/orders", api, true},
		{"http default port", "http://api.example.com:80/orders", "http://api.example.com/orders", true},
		{"other port on both", "https://api.example.com:8443/orders", "https://api.example.com:8443/orders", true},
		{"encoded unreserved character", "https://api.example.com/%6Frders", api, true},
		{"encoded unreserved, lower-case hex", "https://api.example.com/%6frders%2d1", "https://api.example.com/orders-1", true},
		{"hex case of a reserved escape", "https://api.example.com/a%2fb", "https://api.example.com/a%2Fb", true},
		{"empty path", "https://api.example.com", "https://api.example.com/", true},
		{"empty path on the request", "https://api.example.com/", "https://api.example.com", true},
		{"query and fragment of the request ignored", api, api + "?page=2#top", true},
		{"sub-delims and colon in the path", "https://api.example.com/a:b@c;d=e,f", "https://api.example.com/a:b@c;d=e,f", true},
		{"IPv6 literal, default port", "https://[::1]:443/orders", "https://[::1]/orders", true},
		{"IPv6 literal, hex case", "https://[FE80::1]/orders", "https://[fe80::1]/orders", true},

		{"other scheme", "http://api.example.com/orders", api, false},
		{"websocket scheme", "wss://api.example.com/orders", api, false},
		{"other host", "https://api.example.org/orders", api, false},
		{"host suffix", "https://api.example.com.evil.example/orders", api, false},
		{"host with trailing dot", "https://api.example.com./orders", api, false},
		{"Cyrillic host look-alike", "https://аpi.example.com/orders", api, false},
		{"percent-encoded host", "https://api%2Eexample.com/orders", api, false},
		{"other port", "https://api.example.com:8443/orders", api, false},
		{"http port on https", "https://api.example.com:80/orders", api, false},
		{"port with a leading zero", "https://api.example.com:0443/orders", api, false},
		{"port out of range", "https://api.example.com:65979/orders", api, false},
		{"port not a number", "https://api.example.com:https/orders", api, false},
		{"other path", "https://api.example.com/order", api, false},
		{"longer path", "https://api.example.com/orders/1", api, false},
		{"path case", "https://api.example.com/Orders", api, false},
		{"trailing slash", "https://api.example.com/orders/", api, false},
		{"double slash", "https://api.example.com//orders", api, false},
		{"dot segments", "https://api.example.com/x/../orders", api, false},
		{"query added", api + "?page=2", api, false},
		{"empty query added", api + "?", api, false},
		{"fragment added", api + "#top", api, false},
		{"empty fragment added", api + "#", api, false},
		{"%2F for /", "https://api.example.com/a%2Fb", "https://api.example.com/a/b", false},
		{"/ for %2F", "https://api.example.com/a/b", "https://api.example.com/a%2Fb", false},
		{"userinfo", "https://user@api.example.com/orders", api, false},
		{"userinfo with password", "https://user:pw@api.example.com/orders", api, false},
		{"backslash", `https://api.example.com\orders`, api, false},
		{"one slash after the scheme", "https:/api.example.com/orders", api, false},
		{"scheme-relative", "//api.example.com/orders", api, false},
		{"path only", "/orders", api, false},
		{"no scheme", "api.example.com/orders", api, false},
		{"leading space", " " + api, api, false},
		{"space in the path", "https://api.example.com/ord ers", "https://api.example.com/ord%20ers", false},
		{"raw non-ASCII path", "https://api.example.com/ordérs", "https://api.example.com/ord%C3%A9rs", false},
		{"truncated escape", "https://api.example.com/orders%2", api, false},
		{"invalid escape", "https://api.example.com/orders%zz", api, false},
		{"empty host", "https:///orders", api, false},
	}
	ed := edKey()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, &clock{}, dpop.Config{})
			payload := `{"jti":"j","htm":"GET","htu":` + strconv.Quote(tt.htu) + `,"iat":1800000000}`
			proof := sign(t, ed, "EdDSA", header("EdDSA", ed.Public(), ""), payload)
			req := dpop.Request{Method: "GET", URL: must(url.Parse(tt.request))}
			_, err := v.Verify(context.Background(), proof, req)
			if tt.ok {
				if err != nil {
					t.Fatalf("htu %q for %s: %v", tt.htu, tt.request, err)
				}
				return
			}
			wantReason(t, err, dpop.ErrInvalidProof, "htu")
		})
	}
}

// TestSignerURLMatchesRequest: a Signer's htu leaves out what the verifier
// ignores on the request (query, fragment, userinfo), so its proofs match.
func TestSignerURLMatchesRequest(t *testing.T) {
	c := &clock{}
	s := newSigner(t, c, edKey())
	for _, raw := range []string{
		"https://api.example.com/orders?page=2#top",
		"https://user:pw@api.example.com/orders",
		"https://api.example.com",
		"https://api.example.com/a%2Fb/%7Euser",
		"HTTP://api.example.com:8080/x",
	} {
		t.Run(raw, func(t *testing.T) {
			v := newVerifier(t, c, dpop.Config{})
			req := dpop.Request{Method: "GET", URL: must(url.Parse(raw))}
			proof := must(s.Proof("GET", raw, "", ""))
			if _, err := v.Verify(context.Background(), proof, req); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			// Verifiers that compare htu more strictly than this one still
			// see a path and no query, fragment or userinfo.
			htu, _ := decodePart(t, proof, 1)["htu"].(string)
			if u, err := url.Parse(htu); err != nil || u.Path == "" || strings.ContainsAny(htu, "?#@") {
				t.Fatalf("htu %q", htu)
			}
		})
	}
}
