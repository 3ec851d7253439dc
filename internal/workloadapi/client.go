package workloadapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/keyless-io/keyless/internal/workload"
)

// Client calls the workload endpoints of a keyless server. The launcher and
// the CLI use it with a bearer token or a grant; the agent with an HTTP
// client that presents its certificate.
type Client struct {
	// BaseURL is the server URL without a trailing slash.
	BaseURL string
	HTTP    *http.Client
}

// APIError is a non-2xx answer. Body is the server's body, verbatim, so a
// local endpoint can hand it to the workload unchanged.
type APIError struct {
	Status     int
	Code       string
	Message    string
	Body       []byte
	RetryAfter string
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("keyless server answered %d", e.Status)
	}
	return fmt.Sprintf("keyless server answered %d %s: %s", e.Status, e.Code, e.Message)
}

// Bearer gets an operator token for the ARM audience from cred.
func Bearer(ctx context.Context, cred azcore.TokenCredential, audience string) (string, error) {
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{strings.TrimRight(audience, "/") + "/.default"}})
	if err != nil {
		return "", err
	}
	return tok.Token, nil
}

func bearerAuth(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func basicAuth(id, secret string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(id, secret) }
}

// CreateGrant asks for a launch grant (operator bearer token).
func (c *Client) CreateGrant(ctx context.Context, bearer string, req CreateGrantRequest) (Grant, error) {
	var g Grant
	err := c.do(ctx, http.MethodPost, PathGrants, bearerAuth(bearer), req, &g)
	return g, err
}

// RevokeGrant revokes a launch grant with its own secret.
func (c *Client) RevokeGrant(ctx context.Context, grantID, secret string) error {
	return c.do(ctx, http.MethodDelete, PathGrants+"/"+url.PathEscape(grantID), basicAuth(grantID, secret), nil, nil)
}

// GrantToken asks for a token as the grant's resource.
func (c *Client) GrantToken(ctx context.Context, grantID, secret, resource string, sel workload.Selector) (TokenResponse, error) {
	var t TokenResponse
	err := c.do(ctx, http.MethodGet, PathGrantToken+"?"+tokenQuery(resource, sel), basicAuth(grantID, secret), nil, &t)
	return t, err
}

// GrantEvents follows a launch's event stream until ctx ends or the
// stream breaks.
func (c *Client) GrantEvents(ctx context.Context, grantID, secret string, idle time.Duration, handle func(Event)) error {
	return c.events(ctx, PathGrantEvent, basicAuth(grantID, secret), idle, handle)
}

// CreateJoinToken asks for an agent join token (operator bearer token).
func (c *Client) CreateJoinToken(ctx context.Context, bearer string, req CreateJoinTokenRequest) (JoinToken, error) {
	var jt JoinToken
	err := c.do(ctx, http.MethodPost, PathJoinTokens, bearerAuth(bearer), req, &jt)
	return jt, err
}

// ListAgents lists the agents the operator may read.
func (c *Client) ListAgents(ctx context.Context, bearer string) ([]Agent, error) {
	var l AgentList
	err := c.do(ctx, http.MethodGet, PathAgents, bearerAuth(bearer), nil, &l)
	return l.Value, err
}

// RevokeAgent revokes an agent.
func (c *Client) RevokeAgent(ctx context.Context, bearer, agentID string) (Agent, error) {
	var ag Agent
	err := c.do(ctx, http.MethodDelete, PathAgents+"/"+url.PathEscape(agentID), bearerAuth(bearer), nil, &ag)
	return ag, err
}

// Enroll enrolls an agent with a join token.
func (c *Client) Enroll(ctx context.Context, req EnrollRequest) (Enrollment, error) {
	var e Enrollment
	err := c.do(ctx, http.MethodPost, PathEnroll, nil, req, &e)
	return e, err
}

// Renew renews the agent's certificate (mutual TLS).
func (c *Client) Renew(ctx context.Context, csrPEM string) (Enrollment, error) {
	var e Enrollment
	err := c.do(ctx, http.MethodPost, PathRenew, nil, RenewRequest{CSR: csrPEM}, &e)
	return e, err
}

// AgentToken asks for a token as the agent's resource (mutual TLS).
func (c *Client) AgentToken(ctx context.Context, resource string, sel workload.Selector) (TokenResponse, error) {
	var t TokenResponse
	err := c.do(ctx, http.MethodGet, PathAgentToken+"?"+tokenQuery(resource, sel), nil, nil, &t)
	return t, err
}

// AgentEvents follows the agent's event stream (mutual TLS).
func (c *Client) AgentEvents(ctx context.Context, idle time.Duration, handle func(Event)) error {
	return c.events(ctx, PathAgentEvent, nil, idle, handle)
}

func tokenQuery(resource string, sel workload.Selector) string {
	q := url.Values{"resource": {resource}}
	if p := sel.Param(); p != "" {
		q.Set(p, sel.Value)
	}
	return q.Encode()
}

func (c *Client) do(ctx context.Context, method, path string, auth func(*http.Request), in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if auth != nil {
		auth(req)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return apiErrorFrom(resp, raw)
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// apiErrorFrom reads either error shape: OAuth/IMDS or ARM.
func apiErrorFrom(resp *http.Response, raw []byte) *APIError {
	e := &APIError{Status: resp.StatusCode, Body: raw, RetryAfter: resp.Header.Get("Retry-After")}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) == nil {
		var code string
		if json.Unmarshal(m["error"], &code) == nil {
			e.Code = code
			_ = json.Unmarshal(m["error_description"], &e.Message)
		} else {
			var ae struct{ Code, Message string }
			if json.Unmarshal(m["error"], &ae) == nil {
				e.Code, e.Message = ae.Code, ae.Message
			}
		}
	}
	return e
}

// events reads a text/event-stream. It returns when ctx ends, the server
// closes the stream, or nothing (not even a heartbeat) arrives for idle.
func (c *Client) events(ctx context.Context, path string, auth func(*http.Request), idle time.Duration, handle func(Event)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if auth != nil {
		auth(req)
	}
	// The stream outlives any client-wide timeout.
	hc := *c.HTTP
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return apiErrorFrom(resp, raw)
	}
	if idle <= 0 {
		idle = 45 * time.Second
	}
	watchdog := time.AfterFunc(idle, cancel)
	defer watchdog.Stop()
	sc := bufio.NewScanner(resp.Body)
	var data strings.Builder
	for sc.Scan() {
		watchdog.Reset(idle)
		line := sc.Text()
		switch {
		case line == "":
			if data.Len() > 0 {
				var ev Event
				if json.Unmarshal([]byte(data.String()), &ev) == nil {
					handle(ev)
				}
				data.Reset()
			}
		case strings.HasPrefix(line, "data:"):
			data.WriteString(strings.TrimSpace(strings.TrimPrefix(line, "data:")))
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}
