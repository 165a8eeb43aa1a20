package debug

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// requestTimeout bounds one CLI request, rendering included.
const requestTimeout = time.Minute

// client calls the debug API over the socket.
type client struct {
	socket string
	http   *http.Client
}

func newClient(socket string) *client {
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}
	return &client{
		socket: socket,
		http: &http.Client{
			Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true},
			Timeout:   requestTimeout,
		},
	}
}

// unreachableError: nothing answered on the socket.
type unreachableError struct {
	socket string
	err    error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("addon-operator is not running or not reachable at %s: %v", e.socket, e.err)
}

func (e *unreachableError) Unwrap() error { return e.err }

// remoteError is an error answer of the API.
type remoteError struct {
	status int
	body   ErrorResponse
}

func (e *remoteError) Error() string { return e.body.Error }

// get fetches path with query and returns the JSON body of a 200 answer.
// It fails with *unreachableError when the socket does not answer and with
// *remoteError for an error answer.
func (c *client) get(ctx context.Context, path string, query url.Values) ([]byte, error) {
	return c.do(ctx, http.MethodGet, path, query)
}

func (c *client) do(ctx context.Context, method, path string, query url.Values) ([]byte, error) {
	u := url.URL{Scheme: "http", Host: "addon-operator", Path: path, RawQuery: query.Encode()}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &unreachableError{socket: c.socket, err: transportCause(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, &unreachableError{socket: c.socket, err: fmt.Errorf("read answer: %w", err)}
	}
	if resp.StatusCode == http.StatusOK {
		return body, nil
	}
	var e ErrorResponse
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		return nil, fmt.Errorf("unexpected answer %s from %s: %s", resp.Status, c.socket, bytes.TrimSpace(body))
	}
	return nil, &remoteError{status: resp.StatusCode, body: e}
}

// doJSON calls path with method (GET, or POST for an action without a
// request body) and decodes the answer into out; errors as get.
func (c *client) doJSON(ctx context.Context, method, path string, query url.Values, out any) error {
	body, err := c.do(ctx, method, path, query)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decode answer of %s: %w", path, err)
	}
	return nil
}

// transportCause drops the request line url.Error adds and the dial
// address net.OpError repeats: "connect: connection refused".
func transportCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}
