package core

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ResourceMetadata is an OAuth 2.0 Protected Resource Metadata document
// (RFC 9728 §2): what a client needs to know to call this resource — where
// to get tokens for it, and how to present them. MCP clients read it from
// the URL that every 401 challenge names (see Options.ResourceMetadata).
//
// A ResourceMetadata is an http.Handler that serves the document at the
// well-known URLs of §3.1:
//
//	meta := core.ResourceMetadata{Resource: "https://api.example.com/mcp", AuthorizationServers: []string{iss}}
//	mux.Handle(meta.WellKnownPath(), meta)                  // /.well-known/oauth-protected-resource/mcp
//	mux.Handle(core.ResourceMetadataPath, meta)             // /.well-known/oauth-protected-resource
type ResourceMetadata struct {
	// Resource is the resource identifier: an https URL without a fragment
	// (§2), which clients compare exactly with the URL they asked for (§3.3)
	// and send as the RFC 8707 resource of their token requests.
	Resource string `json:"resource"`
	// AuthorizationServers lists the issuer identifiers of the
	// authorization servers that issue tokens for the resource.
	AuthorizationServers []string `json:"authorization_servers,omitempty"`
	// JWKSURI is the resource's own key set, if it signs anything.
	JWKSURI string `json:"jwks_uri,omitempty"`
	// ScopesSupported lists the scopes the resource's routes require.
	ScopesSupported []string `json:"scopes_supported,omitempty"`
	// BearerMethodsSupported lists how tokens may be sent: "header",
	// "body", "query". Empty is published as ["header"].
	BearerMethodsSupported []string `json:"bearer_methods_supported,omitempty"`
	// ResourceSigningAlgValuesSupported lists the algorithms the resource
	// signs responses with.
	ResourceSigningAlgValuesSupported []string `json:"resource_signing_alg_values_supported,omitempty"`
	// ResourceName is a human-readable name for the resource.
	ResourceName string `json:"resource_name,omitempty"`
	// ResourceDocumentation, ResourcePolicyURI and ResourceTOSURI are
	// URLs for people.
	ResourceDocumentation string `json:"resource_documentation,omitempty"`
	ResourcePolicyURI     string `json:"resource_policy_uri,omitempty"`
	ResourceTOSURI        string `json:"resource_tos_uri,omitempty"`
	// TLSClientCertificateBoundAccessTokens says the resource accepts
	// certificate-bound tokens (RFC 8705).
	TLSClientCertificateBoundAccessTokens bool `json:"tls_client_certificate_bound_access_tokens,omitempty"`
	// AuthorizationDetailsTypesSupported lists RFC 9396 types.
	AuthorizationDetailsTypesSupported []string `json:"authorization_details_types_supported,omitempty"`
	// DPoPSigningAlgValuesSupported lists the DPoP proof algorithms the
	// resource accepts (RFC 9449).
	DPoPSigningAlgValuesSupported []string `json:"dpop_signing_alg_values_supported,omitempty"`
	// DPoPBoundAccessTokensRequired says the resource accepts only
	// DPoP-bound tokens.
	DPoPBoundAccessTokensRequired bool `json:"dpop_bound_access_tokens_required,omitempty"`
}

// ResourceMetadataPath is the well-known path of RFC 9728 §3 for a
// resource whose identifier has no path.
const ResourceMetadataPath = "/.well-known/oauth-protected-resource"

// WellKnownPath returns the path the document is served at (§3.1): the
// well-known segment inserted between the host and the path of Resource,
// as in /.well-known/oauth-protected-resource/mcp for
// https://api.example.com/mcp.
func (m ResourceMetadata) WellKnownPath() string {
	u, err := url.Parse(m.Resource)
	if err != nil {
		return ResourceMetadataPath
	}
	return ResourceMetadataPath + strings.TrimSuffix(u.EscapedPath(), "/")
}

// URL returns the absolute URL of the document, for the resource_metadata
// parameter of challenges (§5.1): Options.ResourceMetadata.
func (m ResourceMetadata) URL() string {
	u, err := url.Parse(m.Resource)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host + m.WellKnownPath()
}

// ServeHTTP answers GET and HEAD with the document as JSON, cacheable for
// an hour (M3); other methods get 405. It serves whatever path it is
// mounted at: mount it at WellKnownPath (and, if clients of the resource
// look there, at ResourceMetadataPath).
func (m ResourceMetadata) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if len(m.BearerMethodsSupported) == 0 {
		m.BearerMethodsSupported = []string{"header"}
	}
	body, err := json.Marshal(m)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}
