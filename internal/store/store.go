// Package store owns everything keyless persists and the change feed that
// in-memory indexes and other replicas follow.
//
// Two backends implement Store (SQLite, the embedded default, and PostgreSQL
// for several replicas); both are proven by one conformance suite in
// store/storetest. The store never interprets resource properties, never
// enforces authorization and never sees a plaintext secret: callers hand it
// hashes and sealed (encrypted) key material only.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors shared by every backend. Domain code maps them to ARM or
// OAuth errors once, at the HTTP boundary.
var (
	ErrNotFound      = errors.New("store: not found")
	ErrAlreadyExists = errors.New("store: already exists")
	// ErrReadOnly is returned by write methods called inside View.
	ErrReadOnly = errors.New("store: write in a read-only transaction")
	// ErrCompacted is returned by Changes when entries after since were
	// compacted away: the reader must rebuild its state from the store and
	// follow on from the revision it rebuilt at.
	ErrCompacted = errors.New("store: change feed compacted past the requested revision")
	// ErrInvalidText is returned by a write holding text that not every
	// backend can keep (a NUL character, invalid UTF-8): PostgreSQL refuses
	// it and SQLite would store it, so every backend refuses it. The front
	// doors refuse such input first, naming the member; this is the
	// backstop that keeps the backends alike.
	ErrInvalidText = errors.New("store: text holds a NUL character or is not valid UTF-8")
	// ErrCycle is returned by PutManagementGroup when the new parent is the
	// group itself or one of its descendants: management groups form one
	// tree under the tenant root group, down which role assignments are
	// inherited.
	ErrCycle = errors.New("store: management group would become its own ancestor")
	// ErrNotEmpty is returned by DeleteManagementGroup while child groups
	// or subscriptions remain under the group, as Azure refuses the delete
	// until they are moved away.
	ErrNotEmpty = errors.New("store: still has children")
)

// Store is the persistence seam of the server.
//
// Every Update that writes anything bumps the global revision exactly once and
// records one Change per entity key it touched, in the same transaction, so a
// reader that has applied revision N and asks for Changes(N) misses nothing:
// revisions become visible in commit order.
type Store interface {
	// Update runs fn in one read-write transaction. If fn returns an error
	// (or panics) nothing it wrote is kept. It returns the revision the
	// transaction committed as, or the current revision if fn wrote nothing.
	// fn may run more than once (PostgreSQL retries serialization failures),
	// so it must have no effect outside the Tx it is given. A transaction
	// that wrote only usage aggregates commits without a revision and
	// returns the current one.
	Update(ctx context.Context, fn func(Tx) error) (int64, error)
	// View runs fn in a read-only transaction with a consistent snapshot.
	View(ctx context.Context, fn func(Tx) error) error

	// Revision is the newest committed revision.
	Revision(ctx context.Context) (int64, error)
	// Changes lists changes with revision > since, oldest first, at most
	// limit of them (limit <= 0 means a backend default), except that a
	// revision is never split: the rest of the last one is always included,
	// so resuming from the last revision received misses nothing.
	Changes(ctx context.Context, since int64, limit int) ([]Change, error)
	// CompactChanges deletes change-feed entries recorded before olderThan,
	// whole revisions only, and returns the newest revision compacted (0
	// if none ever was). Afterwards Changes(since) answers ErrCompacted for
	// any since below that revision.
	CompactChanges(ctx context.Context, olderThan time.Time) (int64, error)
	// Notify returns a channel that receives a value (coalesced, never
	// blocking the writer) whenever the revision may have advanced, by a
	// write through this Store or, for PostgreSQL, by another replica. The
	// channel is closed when ctx ends or the store closes.
	Notify(ctx context.Context) <-chan struct{}

	// RefreshStatistics brings the query planner's statistics up to date
	// where enough rows changed since they were last gathered, and names
	// the tables it analyzed. On PostgreSQL that is ANALYZE of the tables
	// whose changes since their last analysis exceed autovacuum's default
	// threshold, so plans stay right where autovacuum is off or behind; on
	// SQLite it does nothing, as its queries are written to an index order
	// and planned without statistics.
	RefreshStatistics(ctx context.Context) ([]string, error)
	// Ping reports whether the store is open and usable.
	Ping(ctx context.Context) error
	// Backend names the implementation ("sqlite" or "postgres").
	Backend() string
	Close() error
}

// Change is one entry of the change feed.
type Change struct {
	Revision int64
	Kind     Kind
	// Key identifies the entity within its kind, normalised as the store
	// keys it (lower-case IDs where ARM is case-insensitive). Indexes that
	// follow the feed rely on these forms:
	//   principal: object ID; credential: "principalID/credentialID";
	//   groupMember: "groupID/memberID"; resource: lower-case resource ID;
	//   roleAssignment: assignment name; roleDefinition: role GUID;
	//   signingKey: kid; subscription: lower-case subscription ID;
	//   managementGroup: lower-case group name;
	//   deployment: lower-case scope + "|" + lower-case name (a write of
	//   the deployment's operations records it too).
	Key string
	Op  Op
	At  time.Time
}

// Kind names an entity type in the change feed.
type Kind string

const (
	KindMeta                Kind = "meta"
	KindSigningKey          Kind = "signingKey"
	KindPrincipal           Kind = "principal"
	KindCredential          Kind = "credential"
	KindSubscription        Kind = "subscription"
	KindResourceGroup       Kind = "resourceGroup"
	KindResource            Kind = "resource"
	KindFederatedCredential Kind = "federatedCredential"
	KindRoleDefinition      Kind = "roleDefinition"
	KindRoleAssignment      Kind = "roleAssignment"
	KindGroupMember         Kind = "groupMember"
	KindAgent               Kind = "agent"
	KindJoinToken           Kind = "joinToken"
	KindLaunchGrant         Kind = "launchGrant"
	KindManagementGroup     Kind = "managementGroup"
	KindDeployment          Kind = "deployment"
	// KindApplication's key is the application's object ID; a change to
	// its credentials or federated credentials is a change to it.
	KindApplication Kind = "application"
	// KindGroupOwner's key is "groupID/ownerID".
	KindGroupOwner Kind = "groupOwner"
	// KindDirectoryRoleAssignment's key is the assignment ID.
	KindDirectoryRoleAssignment Kind = "directoryRoleAssignment"
)

// Op says what happened to the entity.
type Op string

const (
	OpPut    Op = "put"
	OpDelete Op = "delete"
)

// Tx is one transaction. Methods that write return ErrReadOnly inside View.
//
// IDs that ARM treats case-insensitively (resource IDs, resource group
// names, scopes, management group and deployment names) are matched
// case-insensitively; the casing the caller first wrote is kept and
// returned.
//
// Times are kept in UTC to the microsecond; the zero time reads back as zero.
type Tx interface {
	// Meta holds installation-wide singletons (tenant ID, default
	// subscription, sealed CA key, ...). Values are opaque bytes.
	GetMeta(ctx context.Context, key string) ([]byte, error)
	PutMeta(ctx context.Context, key string, value []byte) error

	CreateSigningKey(ctx context.Context, k SigningKey) error
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	UpdateSigningKey(ctx context.Context, kid string, fn func(SigningKey) (SigningKey, error)) error
	DeleteSigningKey(ctx context.Context, kid string) error

	CreatePrincipal(ctx context.Context, p Principal) error
	GetPrincipal(ctx context.Context, objectID string) (Principal, error)
	GetPrincipalByAppID(ctx context.Context, appID string) (Principal, error)
	ListPrincipals(ctx context.Context, f PrincipalFilter) ([]Principal, error)
	// EachPrincipal calls fn for every principal, in no defined order,
	// streaming them from the database rather than holding them all: it is
	// the bulk read of the directory index at start. fn must not use the
	// Tx, whose connection is busy with the read; an error from fn stops
	// the read and is returned.
	EachPrincipal(ctx context.Context, fn func(Principal) error) error
	UpdatePrincipal(ctx context.Context, objectID string, fn func(Principal) (Principal, error)) error
	// DeletePrincipal removes the principal with its credentials, group
	// memberships, group ownerships and directory role assignments. Role
	// assignments are the caller's to delete first, so that each one
	// appears in the change feed.
	DeletePrincipal(ctx context.Context, objectID string) error

	// CreateApplication returns ErrAlreadyExists when the object ID or the
	// application ID is taken by another application. An application and
	// its service principal share the application ID and have distinct
	// object IDs, as in Entra.
	CreateApplication(ctx context.Context, a Application) error
	GetApplication(ctx context.Context, objectID string) (Application, error)
	GetApplicationByAppID(ctx context.Context, appID string) (Application, error)
	// ListApplications returns every application ordered by object ID.
	ListApplications(ctx context.Context) ([]Application, error)
	// UpdateApplication replaces the application, its credentials and
	// federated credentials included; the object and application IDs and
	// CreatedAt cannot change.
	UpdateApplication(ctx context.Context, objectID string, fn func(Application) (Application, error)) error
	// DeleteApplication deletes the application only; its service
	// principal is the caller's to delete in the same transaction.
	DeleteApplication(ctx context.Context, objectID string) error

	// AddGroupOwner fails with ErrNotFound when either principal does not
	// exist and with ErrAlreadyExists when the ownership does.
	AddGroupOwner(ctx context.Context, groupID, ownerID string) error
	RemoveGroupOwner(ctx context.Context, groupID, ownerID string) error
	ListGroupOwners(ctx context.Context, groupID string) ([]string, error)

	// CreateDirectoryRoleAssignment returns ErrNotFound when the principal
	// does not exist and ErrAlreadyExists for a taken ID or when the
	// principal already holds the role at the directory scope.
	CreateDirectoryRoleAssignment(ctx context.Context, a DirectoryRoleAssignment) error
	GetDirectoryRoleAssignment(ctx context.Context, id string) (DirectoryRoleAssignment, error)
	// ListDirectoryRoleAssignments returns matching assignments ordered by
	// ID.
	ListDirectoryRoleAssignments(ctx context.Context, f DirectoryRoleAssignmentFilter) ([]DirectoryRoleAssignment, error)
	DeleteDirectoryRoleAssignment(ctx context.Context, id string) error

	CreateCredential(ctx context.Context, c Credential) error
	ListCredentials(ctx context.Context, principalID string) ([]Credential, error)
	DeleteCredential(ctx context.Context, principalID, credentialID string) error

	AddGroupMember(ctx context.Context, groupID, memberID string) error
	RemoveGroupMember(ctx context.Context, groupID, memberID string) error
	ListGroupMembers(ctx context.Context, groupID string) ([]string, error)
	// ListGroupsOf returns the groups principalID is a direct member of.
	ListGroupsOf(ctx context.Context, principalID string) ([]string, error)

	// CreateSubscription and UpdateSubscription return ErrNotFound when
	// ManagementGroupName names no management group; moving a subscription
	// to another group is an UpdateSubscription.
	CreateSubscription(ctx context.Context, s Subscription) error
	GetSubscription(ctx context.Context, id string) (Subscription, error)
	ListSubscriptions(ctx context.Context) ([]Subscription, error)
	UpdateSubscription(ctx context.Context, id string, fn func(Subscription) (Subscription, error)) error

	// PutManagementGroup creates or replaces a group; the first-written
	// casing of the name and CreatedAt are kept on replace. The parent must
	// exist (ErrNotFound), the group cannot be placed under itself or a
	// descendant (ErrCycle), and there is one tenant root group: a second
	// group without a parent is ErrAlreadyExists. It returns whether the
	// group was created.
	PutManagementGroup(ctx context.Context, g ManagementGroup) (created bool, err error)
	GetManagementGroup(ctx context.Context, name string) (ManagementGroup, error)
	// ListManagementGroups returns every group, ordered by lower-case name.
	ListManagementGroups(ctx context.Context) ([]ManagementGroup, error)
	// DeleteManagementGroup returns ErrNotEmpty while child groups or
	// subscriptions are under the group. Role assignments at its scope are
	// the caller's to delete first, so that each appears in the change feed.
	DeleteManagementGroup(ctx context.Context, name string) error

	// PutResourceGroup creates or replaces; the first-written casing of the
	// name and CreatedAt are kept on replace. It returns whether the group
	// was created.
	PutResourceGroup(ctx context.Context, g ResourceGroup) (created bool, err error)
	GetResourceGroup(ctx context.Context, subscriptionID, name string) (ResourceGroup, error)
	ListResourceGroups(ctx context.Context, subscriptionID string) ([]ResourceGroup, error)
	DeleteResourceGroup(ctx context.Context, subscriptionID, name string) error

	// PutResource creates or replaces a resource (generic resources and
	// user-assigned identities alike) together with its attachment index.
	// The first-written casing of the ID, CreatedAt and CreatedBy are kept
	// on replace (PutRoleDefinition and PutFederatedCredential likewise).
	PutResource(ctx context.Context, r Resource) (created bool, err error)
	GetResource(ctx context.Context, id string) (Resource, error)
	ListResources(ctx context.Context, f ResourceFilter) ([]Resource, error)
	// EachAttachment calls fn for every user-assigned identity attached to
	// a resource, with the holder's ID and type, in no defined order,
	// streaming: the attachment graph without the resources' bodies, which
	// is what a review or an inventory of the whole tenant reads. fn must
	// not use the Tx; an error from fn stops the read and is returned.
	EachAttachment(ctx context.Context, fn func(Attachment) error) error
	// DeleteResource also deletes the resource's federated credentials, so
	// that a user-assigned identity recreated under the same name starts
	// without them.
	DeleteResource(ctx context.Context, id string) error

	PutFederatedCredential(ctx context.Context, c FederatedCredential) (created bool, err error)
	GetFederatedCredential(ctx context.Context, identityID, name string) (FederatedCredential, error)
	// ListFederatedCredentials lists an identity's credentials by name;
	// with identityID "" it lists every identity's, by identity then name,
	// in one read (reports over a whole installation).
	ListFederatedCredentials(ctx context.Context, identityID string) ([]FederatedCredential, error)
	DeleteFederatedCredential(ctx context.Context, identityID, name string) error

	PutRoleDefinition(ctx context.Context, d RoleDefinition) (created bool, err error)
	GetRoleDefinition(ctx context.Context, id string) (RoleDefinition, error)
	ListRoleDefinitions(ctx context.Context) ([]RoleDefinition, error)
	DeleteRoleDefinition(ctx context.Context, id string) error

	// CreateRoleAssignment returns ErrAlreadyExists for a taken name and,
	// as ARM does, when the principal already holds the role at the scope.
	CreateRoleAssignment(ctx context.Context, a RoleAssignment) error
	GetRoleAssignment(ctx context.Context, name string) (RoleAssignment, error)
	ListRoleAssignments(ctx context.Context, f RoleAssignmentFilter) ([]RoleAssignment, error)
	// EachAssignmentGrant calls fn with what the RBAC engine indexes of
	// every role assignment, in storage order (no sort: at millions of
	// assignments, sorting by name makes the database fetch one random row
	// per assignment), streaming. fn must not use the Tx; an error from fn
	// stops the read and is returned.
	EachAssignmentGrant(ctx context.Context, fn func(AssignmentGrant) error) error
	DeleteRoleAssignment(ctx context.Context, name string) error

	// PutDeployment creates or replaces a deployment record, Template and
	// Document included; the first-written casing of the scope and name,
	// CreatedAt and CreatedBy are kept on replace. It returns whether the
	// record was created.
	PutDeployment(ctx context.Context, d Deployment) (created bool, err error)
	GetDeployment(ctx context.Context, scope, name string) (Deployment, error)
	// ListDeployments returns deployments ordered by lower-case scope, then
	// lower-case name. Their Template is nil (templates run to 4 MB and
	// lists serve history pages): GetDeployment reads it. A Deployment from
	// a list must not be written back with PutDeployment, which would drop
	// its template.
	ListDeployments(ctx context.Context, f DeploymentFilter) ([]Deployment, error)
	// DeleteDeployment deletes the record with its operations; ErrNotFound
	// when absent.
	DeleteDeployment(ctx context.Context, scope, name string) error
	// PutDeploymentOperations creates or replaces operations of an
	// existing deployment (ErrNotFound otherwise), as many as the engine
	// batches, in one call. An operation given twice keeps the last; one
	// whose Scope or DeploymentName is set and names another deployment is
	// refused.
	PutDeploymentOperations(ctx context.Context, scope, name string, ops []DeploymentOperation) error
	// ListDeploymentOperations returns the operations of a deployment
	// ordered by operation ID; ErrNotFound when the deployment is absent.
	ListDeploymentOperations(ctx context.Context, scope, name string) ([]DeploymentOperation, error)
	// TrimDeployments keeps the deployment history at scope to keep
	// records, as Azure keeps 800 per scope: it deletes the oldest (by
	// UpdatedAt, then lower-case name) records whose State is Succeeded,
	// Failed or Canceled, with their operations, until at most keep remain.
	// A deployment that has not finished counts toward keep but is never
	// deleted. It returns how many it deleted.
	TrimDeployments(ctx context.Context, scope string, keep int) (deleted int, err error)

	// The activity log is not an entity either (see the usage records
	// below): appends and compactions bump no revision and record no
	// change, and commit or roll back with the rest of the Update.
	//
	// AppendActivity adds a batch of events; an event whose ID is stored
	// already is skipped, so a flush retried after an ambiguous commit
	// writes nothing twice. It says how many it added.
	AppendActivity(ctx context.Context, events []ActivityEvent) (added int, err error)
	// ListActivity returns the events matching the filter, newest first
	// (by Time, then ID, both descending), at most Limit of them.
	ListActivity(ctx context.Context, f ActivityFilter) ([]ActivityEvent, error)
	// CompactActivity deletes the events that happened before before and
	// says how many.
	CompactActivity(ctx context.Context, before time.Time) (int, error)

	CreateAgent(ctx context.Context, a Agent) error
	GetAgent(ctx context.Context, id string) (Agent, error)
	ListAgents(ctx context.Context) ([]Agent, error)
	UpdateAgent(ctx context.Context, id string, fn func(Agent) (Agent, error)) error
	DeleteAgent(ctx context.Context, id string) error

	CreateJoinToken(ctx context.Context, t JoinToken) error
	// ConsumeJoinToken deletes and returns the token with this hash; a token
	// can be consumed once.
	ConsumeJoinToken(ctx context.Context, tokenHash string) (JoinToken, error)

	// DeleteExpired deletes join tokens and launch grants that expired
	// before now (each delete is in the change feed) and says how many.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)

	CreateLaunchGrant(ctx context.Context, g LaunchGrant) error
	GetLaunchGrant(ctx context.Context, id string) (LaunchGrant, error)
	DeleteLaunchGrant(ctx context.Context, id string) error

	// Usage records are not entities: no index follows them, so their
	// writes bump no revision and record no change (a flush every few
	// seconds per replica would otherwise churn the feed every replica
	// follows). They commit or roll back with the rest of the Update.
	//
	// MergeUsage adds a replica's batch of aggregates to its own rows:
	// counts are summed per (replica, principal, audience, day) and per
	// (replica, principal, action, scope, outcome), first times keep the
	// earliest and last times the latest. A batch whose Seq is not above
	// the last Seq merged for the replica was merged already (a flush
	// retried after its commit answered with an error) and adds nothing:
	// applied is false. Principal IDs and audiences are matched exactly;
	// actions and scopes case-insensitively, keeping the first casing.
	MergeUsage(ctx context.Context, b UsageBatch) (applied bool, err error)
	// ListUsage returns the usage of the filter's principals merged across
	// every replica's rows: token days summed over replicas, ordered by
	// principal, audience and day; actions ordered by principal, lower-case
	// action, lower-case scope and outcome.
	ListUsage(ctx context.Context, f UsageFilter) (Usage, error)
	// CompactUsage deletes token days before the day of before, action
	// aggregates last seen before it and the flush records of replicas
	// that have not flushed since; it says how many rows it deleted.
	CompactUsage(ctx context.Context, before time.Time) (int, error)

	// Key Vault secrets (keyvault.go).
	VaultSecretTx
}

// SigningKey is an RS256 token-signing key. The private key is sealed by
// the caller (keyring); the store never sees it in the clear.
type SigningKey struct {
	KID string
	// SealedPrivateKey is the PKCS#8 DER private key, encrypted.
	SealedPrivateKey []byte
	// CertificateDER is the self-signed certificate published as x5c.
	CertificateDER []byte
	CreatedAt      time.Time
	// ActivatedAt is when the key started signing; zero for a key that is
	// published but not yet signing.
	ActivatedAt time.Time
	// RetiredAt is when it stopped signing; it stays published until
	// RetiredAt plus the longest token lifetime.
	RetiredAt time.Time
}

// PrincipalKind says what a directory object is.
type PrincipalKind string

const (
	// PrincipalServicePrincipal is an application identity with secrets or
	// certificates (the admin, automation).
	PrincipalServicePrincipal PrincipalKind = "ServicePrincipal"
	// PrincipalSystemAssigned is the service principal of a resource's
	// system-assigned identity.
	PrincipalSystemAssigned PrincipalKind = "SystemAssigned"
	// PrincipalUserAssigned is the service principal of a user-assigned
	// identity resource.
	PrincipalUserAssigned PrincipalKind = "UserAssigned"
	PrincipalGroup        PrincipalKind = "Group"
	PrincipalUser         PrincipalKind = "User"
)

// Principal is a directory object with an object ID and an application
// (client) ID.
type Principal struct {
	ObjectID    string
	AppID       string
	DisplayName string
	Kind        PrincipalKind
	// ResourceID is, for a managed identity, the resource that owns it: the
	// resource for system-assigned, the userAssignedIdentities resource for
	// user-assigned. Empty otherwise.
	ResourceID string
	CreatedAt  time.Time
}

// PrincipalFilter narrows ListPrincipals; zero fields match everything.
type PrincipalFilter struct {
	Kind       PrincipalKind
	ResourceID string
}

// CredentialKind is how a service principal proves itself.
type CredentialKind string

const (
	CredentialSecret      CredentialKind = "secret"
	CredentialCertificate CredentialKind = "certificate"
)

// Credential is a client secret (stored only as a keyed hash) or the public
// certificate of a service principal.
type Credential struct {
	ID          string
	PrincipalID string
	Kind        CredentialKind
	// SecretHash is the keyed hash of a secret (keyring.HashSecret); the
	// secret itself is shown once at creation and never stored.
	SecretHash []byte
	// Hint is the first characters of a secret, for humans telling
	// secrets apart, as Entra shows them.
	Hint string
	// DisplayName is the caller's label for the credential (Graph's
	// passwordCredential displayName); may be empty.
	DisplayName string
	// CertificateDER is the public certificate of a certificate credential.
	CertificateDER []byte
	// ThumbprintSHA1 and ThumbprintSHA256 are the raw digests of the DER.
	ThumbprintSHA1   []byte
	ThumbprintSHA256 []byte
	NotBefore        time.Time
	NotAfter         time.Time
	CreatedAt        time.Time
}

// Application is an application registration (Microsoft Graph's
// application object): the definition of an app, whose service principal
// (a Principal of kind ServicePrincipal with the same AppID) is what signs
// in and holds roles. Its credentials are properties of the application, as
// Graph's passwordCredentials and keyCredentials are, and are written with
// it.
type Application struct {
	ObjectID    string
	AppID       string
	DisplayName string
	// Credentials are the application's secrets and certificates; their
	// PrincipalID is the application's object ID.
	Credentials          []Credential
	FederatedCredentials []ApplicationFederatedCredential
	// Document holds the rest of the application's properties as JSON,
	// kept verbatim for the front door that owns their shape.
	Document  []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ApplicationFederatedCredential trusts tokens from an external issuer for
// an application. Names are unique within the application, compared
// case-insensitively.
type ApplicationFederatedCredential struct {
	ID          string
	Name        string
	Issuer      string
	Subject     string
	Description string
	Audiences   []string
}

// DirectoryRoleAssignment grants a directory role (Entra's Global
// Administrator, Application Administrator, ...; RoleDefinitionID is the
// role's template ID) to a principal. Directory roles govern the directory
// itself, through Microsoft Graph; ARM's role assignments do not.
type DirectoryRoleAssignment struct {
	ID               string
	RoleDefinitionID string
	PrincipalID      string
	// DirectoryScopeID is "/" for the whole tenant.
	DirectoryScopeID string
	CreatedAt        time.Time
}

// DirectoryRoleAssignmentFilter narrows ListDirectoryRoleAssignments; zero
// fields match everything.
type DirectoryRoleAssignmentFilter struct {
	PrincipalID      string
	RoleDefinitionID string
}

// Subscription is an ARM subscription.
type Subscription struct {
	ID          string
	DisplayName string
	State       string
	// ManagementGroupName is the management group the subscription is
	// directly under, as last written; "" means directly under the tenant
	// root group.
	ManagementGroupName string
	CreatedAt           time.Time
}

// ManagementGroup is a Microsoft.Management/managementGroups group: a
// container of subscriptions and other groups whose role assignments are
// inherited by everything under it.
type ManagementGroup struct {
	// Name is the group's ID segment (".../managementGroups/{name}"),
	// matched case-insensitively; the tenant root group's name is the
	// tenant ID.
	Name        string
	DisplayName string
	// ParentName is the parent group's name, as last written; "" only for
	// the tenant root group.
	ParentName string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	UpdatedBy  string
}

// ResourceGroup is an ARM resource group.
type ResourceGroup struct {
	SubscriptionID string
	Name           string
	Location       string
	Tags           map[string]string
	ManagedBy      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Resource is any ARM resource keyless stores: a user-assigned identity or a
// generic resource whose properties are kept verbatim.
type Resource struct {
	// ID is the full resource ID as first written.
	ID             string
	SubscriptionID string
	ResourceGroup  string
	// Type is the full type, e.g. Microsoft.Web/sites or
	// Microsoft.Web/sites/slots for a child resource.
	Type     string
	Name     string
	Location string
	// Body is the rest of the resource document (tags, sku, kind, plan,
	// properties, ...) as JSON, kept verbatim. The identity block is not in
	// it: identities live in PrincipalID and UserAssignedIdentities.
	Body []byte
	// PrincipalID is the object ID of the resource's own identity: the
	// system-assigned principal of a generic resource (empty when it has
	// none), or the principal of a user-assigned identity resource.
	PrincipalID string
	// UserAssignedIdentities are the IDs of the user-assigned identities
	// attached to this resource, as the caller wrote them.
	UserAssignedIdentities []string
	CreatedAt              time.Time
	UpdatedAt              time.Time
	CreatedBy              string
	UpdatedBy              string
}

// Attachment is one user-assigned identity attached to one resource.
type Attachment struct {
	// ResourceID and ResourceType are the holder's, as first written.
	ResourceID   string
	ResourceType string
	// IdentityID is the identity's resource ID as the holder wrote it.
	IdentityID string
}

// ResourceFilter narrows ListResources; zero fields match everything.
// Comparisons are case-insensitive.
type ResourceFilter struct {
	SubscriptionID string
	ResourceGroup  string
	Type           string
	// ParentID matches resources whose ID starts with ParentID + "/"
	// (child resources of a resource).
	ParentID string
	// AttachedIdentity matches resources holding this user-assigned
	// identity ID.
	AttachedIdentity string
	// After and Limit page by ID order: resources whose lower-case ID sorts
	// after After, at most Limit (0 = all).
	After string
	Limit int
}

// FederatedCredential trusts tokens from an external issuer for a
// user-assigned identity.
type FederatedCredential struct {
	IdentityID string
	Name       string
	Issuer     string
	Subject    string
	Audiences  []string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Permission is one permission block of a role definition.
type Permission struct {
	Actions        []string
	NotActions     []string
	DataActions    []string
	NotDataActions []string
	// Condition restricts the block (Azure's ABAC expression, as built-in
	// roles such as Key Vault Data Access Administrator carry it);
	// ConditionVersion is its language version ("2.0").
	Condition        string
	ConditionVersion string
}

// RoleDefinition is a built-in or custom role.
type RoleDefinition struct {
	// ID is the role definition GUID.
	ID               string
	RoleName         string
	Description      string
	RoleType         string // BuiltInRole | CustomRole
	Permissions      []Permission
	AssignableScopes []string
	// Scope is where a custom role was created ("/" for built-ins).
	Scope     string
	CreatedAt time.Time
	UpdatedAt time.Time
	CreatedBy string
	UpdatedBy string
}

// RoleAssignment grants a role to a principal at a scope.
type RoleAssignment struct {
	// Name is the assignment GUID.
	Name             string
	Scope            string
	RoleDefinitionID string // the role definition GUID
	PrincipalID      string
	PrincipalType    string
	Description      string
	Condition        string
	ConditionVersion string
	CreatedAt        time.Time
	UpdatedAt        time.Time
	CreatedBy        string
	UpdatedBy        string
}

// AssignmentGrant is the part of a role assignment that decides what it
// grants: who, which role, where.
type AssignmentGrant struct {
	Name             string
	Scope            string
	RoleDefinitionID string
	PrincipalID      string
}

// RoleAssignmentFilter narrows ListRoleAssignments; zero fields match
// everything.
type RoleAssignmentFilter struct {
	PrincipalID      string
	RoleDefinitionID string
	// Scope matches assignments exactly at this scope (case-insensitive).
	Scope string
	// ScopePrefix matches assignments at this scope or below it (segment
	// boundary, case-insensitive). "/" matches everything.
	ScopePrefix string
}

// Deployment provisioning states. Only the last three are final:
// TrimDeployments deletes nothing else.
const (
	DeploymentAccepted  = "Accepted"
	DeploymentRunning   = "Running"
	DeploymentSucceeded = "Succeeded"
	DeploymentFailed    = "Failed"
	DeploymentCanceled  = "Canceled"
)

// Deployment is one template deployment's record at a scope
// (Microsoft.Resources/deployments). The store keeps it for the engine
// that runs it and never interprets its documents.
type Deployment struct {
	// Scope is the deployment's scope, as first written:
	// "/subscriptions/{s}/resourceGroups/{g}", "/subscriptions/{s}",
	// "/providers/Microsoft.Management/managementGroups/{mg}" or "/"
	// (tenant). Matched case-insensitively, like Name, and not otherwise
	// normalised.
	Scope string
	Name  string
	// State is the provisioningState: Accepted, Running, Succeeded,
	// Failed or Canceled (the Deployment* constants), matched exactly.
	State string
	// Document is the deployment's ARM document (properties with outputs,
	// error, parameters with secure values removed, ...) as JSON, opaque
	// to the store.
	Document []byte
	// Template is the template as deployed (JSON), kept for
	// exportTemplate; opaque. It is nil in ListDeployments results.
	Template      []byte
	CorrelationID string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	CreatedBy     string
	UpdatedBy     string
}

// DeploymentOperation is one entry of a deployment's operations (one per
// resource it deploys).
type DeploymentOperation struct {
	// Scope and DeploymentName name the deployment; they read back as the
	// deployment's own and may be left empty when writing.
	Scope          string
	DeploymentName string
	// OperationID is unique within the deployment, matched exactly.
	OperationID string
	// Document is the operation's ARM document (JSON), opaque.
	Document  []byte
	UpdatedAt time.Time
}

// DeploymentFilter narrows ListDeployments; zero fields match everything.
type DeploymentFilter struct {
	// Scope matches deployments exactly at this scope (case-insensitive).
	Scope string
	// State matches the provisioning state exactly.
	State string
	// After and Limit page by name within Scope: deployments whose
	// lower-case name sorts after After, at most Limit (0 = all). After
	// needs a Scope.
	After string
	Limit int
}

// ActivityEvent is one entry of the activity log: a control-plane change
// or refusal, as the ARM front door answered it. It holds identifiers,
// the action, the scope and the outcome; never a request body, an error
// message or a secret.
type ActivityEvent struct {
	// ID is the event's GUID (the Activity Log's eventDataId).
	ID string
	// Time is when the request was answered; SubmittedAt when the event
	// was written to the store.
	Time        time.Time
	SubmittedAt time.Time
	// SubscriptionID and ResourceGroup locate ResourceID; both are empty
	// above them (the root, a management group).
	SubscriptionID   string
	ResourceGroup    string
	ResourceID       string
	ResourceProvider string
	ResourceType     string
	// Action and Scope are what the RBAC engine was asked.
	Action string
	Scope  string
	Method string
	// Status is Started, Succeeded or Failed; HTTPStatus the status code
	// answered and ErrorCode the ARM error code of a failure.
	Status     string
	HTTPStatus int
	ErrorCode  string
	// CorrelationID is shared by the requests of one operation (a
	// deployment's resources carry its own); RequestID is this request's.
	CorrelationID   string
	RequestID       string
	ClientRequestID string
	// ClientAddress is the TCP peer's IP address.
	ClientAddress  string
	CallerObjectID string
	CallerAppID    string
	CallerTenantID string
}

// ActivityFilter narrows ListActivity; zero fields match everything.
// Text is matched case-insensitively.
type ActivityFilter struct {
	// From and To bound Time, both inclusive.
	From, To       time.Time
	SubscriptionID string
	ResourceGroup  string
	// ResourceID matches the resource and everything below it.
	ResourceID       string
	ResourceProvider string
	CorrelationID    string
	// Caller matches the caller's object ID or application ID.
	Caller string
	Status string
	// After pages on: only events listed after this one (older, or as old
	// with a smaller ID). A zero After starts with the newest.
	After ActivityCursor
	// Limit bounds the page; <= 0 means a backend default (1000).
	Limit int
}

// ActivityCursor is a position in the activity log's order.
type ActivityCursor struct {
	Time time.Time
	ID   string
}

// Agent is an enrolled host agent; its certificate binds it to a resource.
type Agent struct {
	ID         string
	ResourceID string
	// CertificateSerial is the serial of the newest client certificate.
	CertificateSerial string
	CertNotAfter      time.Time
	CreatedAt         time.Time
	LastSeenAt        time.Time
	RevokedAt         time.Time
}

// JoinToken lets one agent enroll once as a resource. Only its hash is kept.
type JoinToken struct {
	TokenHash  string
	ResourceID string
	ExpiresAt  time.Time
	CreatedAt  time.Time
	CreatedBy  string
}

// LaunchGrant lets one `keyless run` launch obtain tokens for a resource's
// identities until it is revoked or expires. Only the secret's hash is kept.
type LaunchGrant struct {
	ID         string
	ResourceID string
	SecretHash []byte
	ExpiresAt  time.Time
	CreatedAt  time.Time
	CreatedBy  string
}

// UsageBatch is what one replica flushes: the aggregates it recorded in
// memory since its previous flush.
type UsageBatch struct {
	// Replica identifies the flushing server process; rows are keyed by
	// it, so replicas never write each other's rows.
	Replica string
	// Seq increases with every batch of a replica, across its restarts.
	Seq     int64
	Tokens  []TokenUsage
	Actions []ActionUsage
}

// TokenUsage counts the tokens issued to a principal for one audience on
// one UTC day.
type TokenUsage struct {
	PrincipalID string
	Audience    string
	// Day is the UTC midnight starting the day.
	Day   time.Time
	Count int64
	// First and Last are the first and last issue times within the day.
	First time.Time
	Last  time.Time
}

// ActionUsage counts the control-plane requests a principal made for one
// action at one scope with one outcome.
type ActionUsage struct {
	PrincipalID string
	Action      string
	Scope       string
	// Denied is true for requests the RBAC engine refused.
	Denied bool
	Count  int64
	First  time.Time
	Last   time.Time
}

// UsageFilter narrows ListUsage; zero fields match everything.
type UsageFilter struct {
	PrincipalIDs []string
	// Since drops token days before Since's day and actions last seen
	// before Since.
	Since time.Time
}

// Usage is the merged usage of some principals.
type Usage struct {
	Tokens  []TokenUsage
	Actions []ActionUsage
}
