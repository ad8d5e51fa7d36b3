package core_test

import (
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/core"
)

func TestNewRejectsBadConfig(t *testing.T) {
	issuer := "https://auth.example.com/"
	cases := map[string]core.Config{
		"empty issuer":         {},
		"none":                 {Issuer: issuer, Algorithms: []string{"none"}},
		"HS256":                {Issuer: issuer, Algorithms: []string{"RS256", "HS256"}},
		"unknown alg":          {Issuer: issuer, Algorithms: []string{"RS257"}},
		"alg case":             {Issuer: issuer, Algorithms: []string{"rs256"}},
		"empty allow-list":     {Issuer: issuer, Algorithms: []string{}},
		"negative leeway":      {Issuer: issuer, Leeway: -time.Second},
		"absurd leeway":        {Issuer: issuer, Leeway: time.Hour},
		"negative size":        {Issuer: issuer, MaxTokenSize: -1},
		"http issuer":          {Issuer: "http://auth.example.com"},
		"relative JWKS URL":    {Issuer: issuer, JWKSURL: "/jwks"},
		"http JWKS URL":        {Issuer: issuer, JWKSURL: "http://auth.example.com/jwks"},
		"ftp JWKS URL":         {Issuer: issuer, JWKSURL: "ftp://auth.example.com/jwks"},
		"JWKS URL with user":   {Issuer: issuer, JWKSURL: "https://u:p@auth.example.com/jwks"},
		"non-URL issuer":       {Issuer: "auth"},
		"negative cooldown":    {Issuer: issuer, RefetchCooldown: -1},
		"negative body cap":    {Issuer: issuer, MaxResponseSize: -1},
		"min TTL over max TTL": {Issuer: issuer, JWKSMinTTL: time.Hour, JWKSMaxTTL: time.Minute},
	}
	for name, cfg := range cases {
		if v, err := core.New(cfg); err == nil {
			v.Close()
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
	good := []core.Config{
		{Issuer: issuer},
		{Issuer: "urn:example:issuer", JWKSURL: "https://auth.example.com/jwks"},
		{Issuer: "http://127.0.0.1:8080"},
		{Issuer: "http://localhost:8080/realms/x"},
		{Issuer: "http://[::1]:8080"},
		{Issuer: "http://auth.internal", AllowInsecureHTTP: true},
		{Issuer: issuer, Algorithms: []string{"ES256"}, Leeway: core.NoLeeway, TokenCacheSize: -1},
	}
	for _, cfg := range good {
		v, err := core.New(cfg)
		if err != nil {
			t.Errorf("New(%+v): %v", cfg, err)
			continue
		}
		if st := v.KeySetStatus(); st.Loaded || !st.LastAttempt.IsZero() {
			t.Errorf("New did I/O: %+v", st)
		}
		v.Close()
	}
}
