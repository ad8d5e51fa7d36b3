// Package integration tests bearerkit against real, independently
// written authorization servers: Ory Hydra (built from the Go module proxy,
// see hydra/go.mod) and panva's oidc-provider (installed from npm, see
// oidcprovider/package.json).
//
// The tests build or install both servers on first use, start them on
// loopback ports chosen at run time, provision their clients, and stop
// every process they started, also when a test fails (the server's log is
// then printed). See README.md for prerequisites and the scenarios.
package integration
