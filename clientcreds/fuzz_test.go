package clientcreds

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// fixedResponse answers every request with one canned response, without
// any network.
type fixedResponse struct {
	status int
	ctype  string
	body   []byte
}

func (f fixedResponse) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return &http.Response{
		StatusCode: f.status, Header: http.Header{"Content-Type": {f.ctype}},
		Body: io.NopCloser(bytes.NewReader(f.body)), Request: req, ContentLength: int64(len(f.body)),
	}, nil
}

// FuzzTokenResponse: any token-endpoint answer gives a usable token or an
// error — never a panic, never a token that is not a b64token, never the
// secret in the error.
func FuzzTokenResponse(f *testing.F) {
	for _, s := range []string{
		`{"access_token":"abc","token_type":"Bearer","expires_in":3600}`,
		`{"access_token":"abc","token_type":"mac"}`, `{"access_token":"a b"}`, `{"error":"invalid_client"}`,
		`{"access_token":"abc","expires_in":"3600"}`, `{"access_token":"abc","expires_in":1e12}`, `access_token=abc&token_type=bearer`,
	} {
		f.Add(200, "application/json", []byte(s))
	}
	f.Add(400, "application/json", []byte(`{"error":"invalid_client","error_description":"s3cr3t-value"}`))
	f.Add(200, "application/x-www-form-urlencoded", []byte(`access_token=x&expires_in=-1`))
	f.Fuzz(func(t *testing.T, status int, ctype string, body []byte) {
		if status < 100 || status > 599 || status/100 == 5 || status/100 == 3 {
			return // 5xx are retried, 3xx are refused before parsing: both covered elsewhere
		}
		c, err := New(Config{
			ClientID: "id", ClientSecret: "s3cr3t-value", TokenURL: "http://127.0.0.1/token",
			HTTPClient: &http.Client{Transport: fixedResponse{status, ctype, body}}, MaxAttempts: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := c.Token(context.Background())
		if err != nil {
			if strings.Contains(err.Error(), "s3cr3t-value") {
				t.Fatalf("error shows the secret: %v", err)
			}
			return
		}
		if !isB64Token(tok) {
			t.Fatalf("token %q is not a b64token", tok)
		}
	})
}

// FuzzBearerError: the WWW-Authenticate parser never panics or loops.
func FuzzBearerError(f *testing.F) {
	for _, s := range []string{`Bearer error="invalid_token"`, `Basic realm="x", Bearer realm="a", error=invalid_token`,
		`Bearer realm="a\"b", error="x`, `Newauth abc==, Bearer error="invalid_token"`, `,,,`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if e := challengeParam(v, "Bearer", "error"); e != "" && !strings.Contains(v, e) && !strings.Contains(v, "\\") {
			t.Fatalf("error %q not in %q", e, v)
		}
	})
}
