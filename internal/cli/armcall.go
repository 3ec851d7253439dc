package cli

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// cliVersion is reported in the User-Agent of the CLI's requests.
const cliVersion = "v0.1.0"

// call makes one request to a keyless-specific route through azcore's ARM
// pipeline (bearer token, retries, error parsing) — the same machinery the
// generated SDK clients use. Routes that have an official client use it
// instead.
func (c *Connection) call(ctx context.Context, method, path, apiVersion string, body any, out any, okStatus ...int) error {
	return c.callWith(ctx, method, path, apiVersion, nil, body, out, okStatus...)
}

// callWithQuery is call with query parameters of the route's own.
func (c *Connection) callWithQuery(ctx context.Context, method, path, apiVersion string, query url.Values, out any) error {
	return c.callWith(ctx, method, path, apiVersion, query, nil, out)
}

func (c *Connection) callWith(ctx context.Context, method, path, apiVersion string, query url.Values, body any, out any, okStatus ...int) error {
	client, err := arm.NewClient("keyless-cli", cliVersion, c.Credential, c.Options)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := runtime.NewRequest(ctx, method, runtime.JoinPaths(client.Endpoint(), path))
	if err != nil {
		return err
	}
	q := req.Raw().URL.Query()
	for k, vs := range query {
		q[k] = vs
	}
	q.Set("api-version", apiVersion)
	req.Raw().URL.RawQuery = q.Encode()
	req.Raw().Header.Set("Accept", "application/json")
	if body != nil {
		if err := runtime.MarshalAsJSON(req, body); err != nil {
			return err
		}
	}
	resp, err := client.Pipeline().Do(req)
	if err != nil {
		return err
	}
	if len(okStatus) == 0 {
		okStatus = []int{http.StatusOK}
	}
	if !runtime.HasStatusCode(resp, okStatus...) {
		return runtime.NewResponseError(resp)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	return runtime.UnmarshalAsJSON(resp, out)
}
