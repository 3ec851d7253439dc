package workloadapi

import "time"

// Paths of the workload endpoints.
const (
	PathGrants     = "/launch/v1/grants"
	PathGrantToken = "/launch/v1/token"
	PathGrantEvent = "/launch/v1/events"
	PathJoinTokens = "/agent/v1/join-tokens"
	PathEnroll     = "/agent/v1/enroll"
	PathRenew      = "/agent/v1/renew"
	PathAgentToken = "/agent/v1/token"
	PathAgentEvent = "/agent/v1/events"
	PathAgents     = "/agent/v1/agents"
)

// CreateGrantRequest asks for a launch grant.
type CreateGrantRequest struct {
	ResourceID string `json:"resourceId"`
	// TTLSeconds is the grant's lifetime; 0 means the default (12 h).
	TTLSeconds int64 `json:"ttlSeconds,omitempty"`
}

// Grant is a created launch grant; Secret is shown once.
type Grant struct {
	GrantID    string    `json:"grantId"`
	Secret     string    `json:"secret"`
	ResourceID string    `json:"resourceId"`
	ExpiresOn  time.Time `json:"expiresOn"`
}

// CreateJoinTokenRequest asks for an agent join token.
type CreateJoinTokenRequest struct {
	ResourceID string `json:"resourceId"`
	TTLSeconds int64  `json:"ttlSeconds,omitempty"`
}

// JoinToken is a created join token (CONTRACT.md: token and expiresOn).
type JoinToken struct {
	Token      string    `json:"token"`
	ExpiresOn  time.Time `json:"expiresOn"`
	ResourceID string    `json:"resourceId"`
}

// EnrollRequest enrolls an agent; RenewRequest renews its certificate.
type EnrollRequest struct {
	JoinToken string `json:"joinToken"`
	// CSR is a PEM "CERTIFICATE REQUEST".
	CSR string `json:"csr"`
}

// RenewRequest carries a new certificate request.
type RenewRequest struct {
	CSR string `json:"csr"`
}

// Enrollment is an agent's signed certificate.
type Enrollment struct {
	AgentID    string `json:"agentId"`
	ResourceID string `json:"resourceId"`
	// Certificate is the PEM client certificate followed by the CA.
	Certificate string    `json:"certificate"`
	ExpiresOn   time.Time `json:"expiresOn"`
}

// Agent is an enrolled agent as the admin commands show it.
type Agent struct {
	ID            string     `json:"id"`
	ResourceID    string     `json:"resourceId"`
	CertExpiresOn time.Time  `json:"certificateExpiresOn"`
	CreatedAt     time.Time  `json:"createdAt"`
	LastSeenAt    time.Time  `json:"lastSeenAt"`
	RevokedAt     *time.Time `json:"revokedAt"`
	State         string     `json:"state"`
}

// AgentList is the list response.
type AgentList struct {
	Value []Agent `json:"value"`
}

// TokenResponse is the server's answer to a launcher or agent: the IMDS
// fields (numbers as strings, reference §2.3.2) plus the identity the
// server selected, so the local endpoint can echo it (Arc, §2.5).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	ClientID     string `json:"client_id"`
	ObjectID     string `json:"object_id"`
	MSIResID     string `json:"msi_res_id,omitempty"`
	ExpiresIn    string `json:"expires_in"`
	ExpiresOn    string `json:"expires_on"`
	ExtExpiresIn string `json:"ext_expires_in"`
	NotBefore    string `json:"not_before"`
	RefreshIn    string `json:"refresh_in"`
	Resource     string `json:"resource"`
	TokenType    string `json:"token_type"`
}

// Event names on the event stream (text/event-stream).
const (
	// EventReady is sent first: the subscription is active, so anything
	// cached before it may be stale and should be dropped.
	EventReady = "ready"
	// EventInvalidate: an identity of the resource changed; drop every
	// cached token.
	EventInvalidate = "invalidate"
	// EventRevoked: the grant or agent is no longer valid; the stream ends.
	EventRevoked = "revoked"
)

// Event is the data of one event.
type Event struct {
	Type       string `json:"type"`
	ResourceID string `json:"resourceId,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// oauthError is the IMDS/OAuth error body the managed-identity clients
// parse (reference §2.3.3).
type oauthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// armError is the ARM error envelope of the operator endpoints.
type armError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}
