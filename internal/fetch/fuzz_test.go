package fetch

import "testing"

// FuzzDiscovery: a metadata document is accepted only when its issuer
// matches exactly, and never with a duplicated member.
func FuzzDiscovery(f *testing.F) {
	const issuer = "https://issuer.example"
	f.Add([]byte(`{"issuer":"https://issuer.example","jwks_uri":"https://issuer.example/jwks"}`))
	f.Add([]byte(`{"issuer":"https://issuer.example/","jwks_uri":"https://issuer.example/jwks"}`))
	f.Add([]byte(`{"issuer":"https://issuer.example","jwks_uri":"http://evil.example/jwks"}`))
	f.Add([]byte(`{"issuer":"https://issuer.example","issuer":"x","jwks_uri":"https://a"}`))
	f.Add([]byte(`{"ISSUER":"https://issuer.example","issuer":"https://issuer.example"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		md, err := parseMetadata(body, issuer)
		if err != nil {
			return
		}
		if md.Issuer != issuer {
			t.Fatalf("accepted issuer %q", md.Issuer)
		}
	})
}
