package otelbearer_test

import (
	"log"
	"net/http"

	"github.com/bearerkit/bearerkit/clientcreds"
	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/otelbearer"
)

func Example() {
	// readme:begin otel
	obs, err := otelbearer.New() // the global MeterProvider and TracerProvider
	if err != nil {
		log.Fatal(err)
	}
	v, err := core.New(core.Config{Issuer: "https://auth.example.com/", Hooks: obs.Hooks()})
	if err != nil {
		log.Fatal(err)
	}
	obs.Observe(v) // key set age and usability, token cache size
	cc, err := clientcreds.New(clientcreds.Config{
		ClientID: "reporting", ClientSecret: "…", Issuer: "https://auth.example.com/",
		Hooks: obs.ClientHooks(),
	})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("GET /readyz", core.ReadinessHandler(v)) // 503 until keys are loaded
	// readme:end
	_ = cc
}
