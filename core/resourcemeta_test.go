package core_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bearerkit/bearerkit/core"
)

// M3: the metadata handler answers GET and HEAD only, is cacheable, and
// serves the document and nothing else.
func TestM3ResourceMetadataHandler(t *testing.T) {
	meta := core.ResourceMetadata{
		Resource:                      "https://api.example.com/mcp",
		AuthorizationServers:          []string{"https://auth.example.com"},
		ScopesSupported:               []string{"tools:read", "tools:call"},
		ResourceName:                  "Orders MCP",
		DPoPSigningAlgValuesSupported: []string{"ES256"},
	}
	if got := meta.WellKnownPath(); got != "/.well-known/oauth-protected-resource/mcp" {
		t.Errorf("WellKnownPath = %q", got)
	}
	if got := meta.URL(); got != "https://api.example.com/.well-known/oauth-protected-resource/mcp" {
		t.Errorf("URL = %q", got)
	}
	if got := (core.ResourceMetadata{Resource: "https://api.example.com"}).WellKnownPath(); got != core.ResourceMetadataPath {
		t.Errorf("WellKnownPath without a path = %q", got)
	}
	mux := http.NewServeMux()
	mux.Handle(meta.WellKnownPath(), meta)
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(method, meta.WellKnownPath(), nil))
		switch method {
		case http.MethodGet:
			var doc map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if rec.Code != 200 || doc["resource"] != meta.Resource || doc["resource_name"] != "Orders MCP" ||
				rec.Header().Get("Cache-Control") != "public, max-age=3600" || rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("GET: %d %v %v", rec.Code, doc, rec.Header())
			}
			if methods := doc["bearer_methods_supported"].([]any); len(methods) != 1 || methods[0] != "header" {
				t.Errorf("bearer_methods_supported = %v", methods)
			}
			if len(doc) != 6 {
				t.Errorf("document has %d members: %v", len(doc), doc)
			}
		case http.MethodHead:
			if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "" {
				t.Errorf("HEAD: %d, %d bytes", rec.Code, rec.Body.Len())
			}
		default:
			if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("%s: %d", method, rec.Code)
			}
		}
	}
}
