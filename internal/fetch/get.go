package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// UserAgent is sent with every request bearerkit makes on its own behalf.
const UserAgent = "bearerkit"

// Client returns a copy of base (nil means a client on
// http.DefaultTransport) that never follows redirects and never sends
// cookies, whatever base's settings: a redirect would take a request, and
// whatever trust its answer carries, somewhere the configuration never
// named.
func Client(base *http.Client) *http.Client {
	var c http.Client
	if base != nil {
		c = *base
	}
	c.Jar = nil
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// StatusError is a response with a status other than 200.
type StatusError struct {
	Code   int
	Header http.Header
}

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP status %d", e.Code) }

// Temporary reports whether the server is in trouble (5xx, 429) rather
// than saying no: asking again later may help.
func (e *StatusError) Temporary() bool {
	return e.Code >= 500 || e.Code == http.StatusTooManyRequests
}

// Request describes one bounded GET.
type Request struct {
	URL     string
	Accept  string
	NoCache bool  // send Cache-Control: no-cache, past any intermediate cache
	MaxBody int64 // the body is refused beyond this many bytes, after decompression
}

// Response is a 200 answer read in full.
type Response struct {
	Body   []byte
	Header http.Header
}

// ErrBodyTooLarge reports a body over [Request.MaxBody].
var ErrBodyTooLarge = errors.New("response body too large")

// Get performs one GET with c, which should come from [Client]. A status
// other than 200 is a *[StatusError]; the body is read only for 200.
func Get(ctx context.Context, c *http.Client, r Request) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		return nil, errors.New("invalid URL")
	}
	req.Header.Set("Accept", r.Accept)
	req.Header.Set("User-Agent", UserAgent)
	if r.NoCache {
		req.Header.Set("Cache-Control", "no-cache")
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Read a little so the connection can be reused.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		return nil, &StatusError{Code: resp.StatusCode, Header: resp.Header}
	}
	body, err := ReadBody(resp.Body, r.MaxBody)
	if err != nil {
		return nil, err
	}
	return &Response{Body: body, Header: resp.Header}, nil
}

// ReadBody reads r to the end, refusing more than max bytes.
func ReadBody(r io.Reader, max int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	if int64(len(body)) > max {
		return nil, fmt.Errorf("%w: the body exceeds %d bytes", ErrBodyTooLarge, max)
	}
	return body, nil
}
