package clientcreds

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
)

// These methods exist so that a Config or Client can be logged or printed
// by accident without leaking credentials: fmt (every verb), slog and
// encoding/json all go through them. ClientSecret shows as "[redacted]"
// when set, the private key by its type only, and EndpointParams by name
// only, since extra parameters sometimes carry API keys.

// String describes the Config without secrets.
func (c Config) String() string {
	var b strings.Builder
	b.WriteString("clientcreds.Config{")
	field := func(name, value string) {
		if value == "" || value == `""` || value == "[]" {
			return
		}
		if !strings.HasSuffix(b.String(), "{") {
			b.WriteString(", ")
		}
		b.WriteString(name + ": " + value)
	}
	field("ClientID", strconv.Quote(c.ClientID))
	if c.ClientSecret != "" {
		field("ClientSecret", strconv.Quote(redacted))
	}
	field("TokenURL", strconv.Quote(c.TokenURL))
	field("Issuer", strconv.Quote(c.Issuer))
	field("Scopes", quoteList(c.Scopes))
	field("Audience", quoteList(c.Audience))
	field("Resource", quoteList(c.Resource))
	field("EndpointParams", quoteList(paramNames(c)))
	field("AuthMethod", string(c.AuthMethod))
	if c.PrivateKey != nil {
		field("PrivateKey", fmt.Sprintf("[redacted %T]", c.PrivateKey))
	}
	field("KeyID", strconv.Quote(c.KeyID))
	field("Origins", quoteList(c.Origins))
	b.WriteString("}")
	return b.String()
}

// GoString makes %#v safe too.
func (c Config) GoString() string { return c.String() }

// Format makes every fmt verb, including %+v and %x, print [Config.String].
func (c Config) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue makes slog print the Config without secrets.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("client_id", c.ClientID),
		slog.String("token_url", c.TokenURL),
		slog.String("issuer", c.Issuer),
		slog.Any("scopes", c.Scopes),
		slog.Any("audience", c.Audience),
		slog.Any("resource", c.Resource),
		slog.Any("endpoint_params", paramNames(c)),
		slog.String("auth_method", string(c.AuthMethod)),
		slog.String("key_id", c.KeyID),
	}
	if c.ClientSecret != "" {
		attrs = append(attrs, slog.String("client_secret", redacted))
	}
	if c.PrivateKey != nil {
		attrs = append(attrs, slog.String("private_key", redacted))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON writes the same fields as [Config.LogValue], so JSON loggers
// that reflect over values cannot expose the secret either. A Config is
// not meant to round-trip through JSON.
func (c Config) MarshalJSON() ([]byte, error) {
	out := map[string]any{"client_id": c.ClientID}
	add := func(k string, v any, keep bool) {
		if keep {
			out[k] = v
		}
	}
	add("client_secret", redacted, c.ClientSecret != "")
	add("token_url", c.TokenURL, c.TokenURL != "")
	add("issuer", c.Issuer, c.Issuer != "")
	add("scopes", c.Scopes, len(c.Scopes) > 0)
	add("audience", c.Audience, len(c.Audience) > 0)
	add("resource", c.Resource, len(c.Resource) > 0)
	add("endpoint_params", paramNames(c), len(c.EndpointParams) > 0)
	add("auth_method", c.AuthMethod, c.AuthMethod != "")
	add("private_key", redacted, c.PrivateKey != nil)
	add("key_id", c.KeyID, c.KeyID != "")
	return json.Marshal(out)
}

func paramNames(c Config) []string {
	names := make([]string, 0, len(c.EndpointParams))
	for k := range c.EndpointParams {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return "[" + strings.Join(q, " ") + "]"
}

// String describes the Client by its configuration, without secrets or
// the cached token.
func (c *Client) String() string {
	return "clientcreds.Client{" + strings.TrimPrefix(c.cfg.String(), "clientcreds.Config{")
}

// GoString makes %#v safe.
func (c *Client) GoString() string { return c.String() }

// Format makes every fmt verb print [Client.String].
func (c *Client) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue makes slog print the Client's configuration without secrets.
func (c *Client) LogValue() slog.Value { return c.cfg.LogValue() }
