package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestQuickstart(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	if strings.Contains(text, "UNEXPECTED") || !strings.Contains(text, "all 12 calls answered as expected") {
		t.Fatalf("transcript:\n%s", text)
	}
	for _, want := range []string{
		`gin   GET  /orders  forged token                   expect 401  got 401  ok         error="invalid_token"`,
		`echo  POST /orders  reporting, lacks orders:write  expect 403  got 403  ok         error="insufficient_scope", scope="orders:write"`,
		`echo  POST /orders  fulfilment, orders:write       expect 201  got 201  ok`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("transcript lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "reporting-secret") {
		t.Error("transcript shows a client secret")
	}
}
