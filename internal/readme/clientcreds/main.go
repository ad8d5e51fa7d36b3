// Command clientcreds holds the README's clientcreds snippet, compiled.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"

	"github.com/bearerkit/bearerkit/clientcreds"
)

func main() {
	if err := listOrders(context.Background(), os.Getenv("CLIENT_SECRET")); err != nil {
		log.Fatal(err)
	}
}

// readme:begin clientcreds
func listOrders(ctx context.Context, secret string) error {
	cc, err := clientcreds.New(clientcreds.Config{
		ClientID: "reporting", ClientSecret: secret,
		TokenURL: "https://auth.example.com/oauth/token",
		Scopes:   []string{"orders:read"},
		Audience: []string{"orders-api"},
	})
	if err != nil {
		return err
	}
	defer cc.Close() // keep one Client for the life of the process

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://orders.example.com/orders", nil)
	if err != nil {
		return err
	}
	resp, err := cc.HTTPClient().Do(req) // sends "Authorization: Bearer <token>"
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %s\n", resp.Status, body)
	return nil
}

// readme:end
