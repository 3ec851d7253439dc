package monitorapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/activity"
	"github.com/keyless-io/keyless/internal/store"
)

// eventData is armmonitor.EventData as the Activity Log REST API writes
// it. Every member is a pointer so that $select can leave members out.
type eventData struct {
	Authorization        *authorization    `json:"authorization,omitempty"`
	Caller               *string           `json:"caller,omitempty"`
	Channels             *string           `json:"channels,omitempty"`
	Claims               map[string]string `json:"claims,omitempty"`
	CorrelationID        *string           `json:"correlationId,omitempty"`
	Description          *string           `json:"description,omitempty"`
	EventDataID          *string           `json:"eventDataId,omitempty"`
	EventName            *localizable      `json:"eventName,omitempty"`
	Category             *localizable      `json:"category,omitempty"`
	EventTimestamp       *string           `json:"eventTimestamp,omitempty"`
	HTTPRequest          *httpRequest      `json:"httpRequest,omitempty"`
	ID                   *string           `json:"id,omitempty"`
	Level                *string           `json:"level,omitempty"`
	OperationID          *string           `json:"operationId,omitempty"`
	OperationName        *localizable      `json:"operationName,omitempty"`
	Properties           map[string]string `json:"properties,omitempty"`
	ResourceGroupName    *string           `json:"resourceGroupName,omitempty"`
	ResourceProviderName *localizable      `json:"resourceProviderName,omitempty"`
	ResourceType         *localizable      `json:"resourceType,omitempty"`
	ResourceID           *string           `json:"resourceId,omitempty"`
	Status               *localizable      `json:"status,omitempty"`
	SubStatus            *localizable      `json:"subStatus,omitempty"`
	SubmissionTimestamp  *string           `json:"submissionTimestamp,omitempty"`
	SubscriptionID       *string           `json:"subscriptionId,omitempty"`
	TenantID             *string           `json:"tenantId,omitempty"`
}

type authorization struct {
	Action string `json:"action"`
	Scope  string `json:"scope"`
}

type localizable struct {
	Value          string `json:"value"`
	LocalizedValue string `json:"localizedValue"`
}

type httpRequest struct {
	ClientRequestID string `json:"clientRequestId"`
	ClientIPAddress string `json:"clientIpAddress"`
	Method          string `json:"method"`
}

// Claim names as the Activity Log writes them (the token's claims after
// .NET's mapping of oid and tid).
const (
	claimObjectID = "http://schemas.microsoft.com/identity/claims/objectidentifier"
	claimTenantID = "http://schemas.microsoft.com/identity/claims/tenantid"
)

// ticksAtUnixEpoch is 1970-01-01 in .NET ticks (100 ns since 0001-01-01),
// the unit of the ticks segment of an event's id.
const ticksAtUnixEpoch = 621355968000000000

func ptr[T any](v T) *T { return &v }

func same(s string) *localizable { return &localizable{Value: s, LocalizedValue: s} }

// wireOf renders a stored event. issuer is the token issuer, for the iss
// claim.
func wireOf(e store.ActivityEvent, tenantID, issuer string) eventData {
	level := "Informational"
	if e.Status == activity.StatusFailed {
		level = "Error"
	}
	name := &localizable{Value: "EndRequest", LocalizedValue: "End request"}
	if e.Status == activity.StatusStarted {
		name = &localizable{Value: "BeginRequest", LocalizedValue: "Begin request"}
	}
	claims := map[string]string{}
	for k, v := range map[string]string{"appid": e.CallerAppID, claimObjectID: e.CallerObjectID, claimTenantID: e.CallerTenantID, "iss": issuer} {
		if v != "" {
			claims[k] = v
		}
	}
	subStatus := statusName(e.HTTPStatus)
	props := map[string]string{
		"statusCode":       subStatus,
		"serviceRequestId": e.RequestID,
		"eventCategory":    "Administrative",
		"entity":           e.ResourceID,
		"message":          e.Action,
	}
	if e.ErrorCode != "" {
		props["statusMessage"] = `{"error":{"code":"` + jsonEscape(e.ErrorCode) + `"}}`
	}
	ticks := e.Time.UnixNano()/100 + ticksAtUnixEpoch
	return eventData{
		Authorization:        &authorization{Action: e.Action, Scope: e.Scope},
		Caller:               ptr(e.CallerObjectID),
		Channels:             ptr("Operation"),
		Claims:               claims,
		CorrelationID:        ptr(e.CorrelationID),
		Description:          ptr(""),
		EventDataID:          ptr(e.ID),
		EventName:            name,
		Category:             same("Administrative"),
		EventTimestamp:       ptr(timestamp(e.Time)),
		HTTPRequest:          &httpRequest{ClientRequestID: e.ClientRequestID, ClientIPAddress: e.ClientAddress, Method: e.Method},
		ID:                   ptr(strings.TrimSuffix(e.ResourceID, "/") + "/events/" + e.ID + "/ticks/" + strconv.FormatInt(ticks, 10)),
		Level:                ptr(level),
		OperationID:          ptr(e.RequestID),
		OperationName:        same(e.Action),
		Properties:           props,
		ResourceGroupName:    ptr(e.ResourceGroup),
		ResourceProviderName: same(e.ResourceProvider),
		ResourceType:         same(e.ResourceType),
		ResourceID:           ptr(e.ResourceID),
		Status:               same(e.Status),
		SubStatus:            &localizable{Value: subStatus, LocalizedValue: subStatus + " (HTTP Status Code: " + strconv.Itoa(e.HTTPStatus) + ")"},
		SubmissionTimestamp:  ptr(timestamp(e.SubmittedAt)),
		SubscriptionID:       ptr(e.SubscriptionID),
		TenantID:             ptr(tenantID),
	}
}

// statusName is the Activity Log's name for an HTTP status: its reason
// phrase without spaces ("Created", "NoContent", "Forbidden").
func statusName(code int) string {
	text := http.StatusText(code)
	if text == "" {
		return strconv.Itoa(code)
	}
	var b strings.Builder
	for _, r := range text {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// jsonEscape escapes an ARM error code for a JSON string; codes are
// letters and digits, so this is a backstop.
func jsonEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// selectable are the members $select may name, by lower-case name, each
// copying its member.
var selectable = map[string]func(dst, src *eventData){
	"authorization":        func(d, s *eventData) { d.Authorization = s.Authorization },
	"caller":               func(d, s *eventData) { d.Caller = s.Caller },
	"channels":             func(d, s *eventData) { d.Channels = s.Channels },
	"claims":               func(d, s *eventData) { d.Claims = s.Claims },
	"correlationid":        func(d, s *eventData) { d.CorrelationID = s.CorrelationID },
	"description":          func(d, s *eventData) { d.Description = s.Description },
	"eventdataid":          func(d, s *eventData) { d.EventDataID = s.EventDataID },
	"eventname":            func(d, s *eventData) { d.EventName = s.EventName },
	"category":             func(d, s *eventData) { d.Category = s.Category },
	"eventtimestamp":       func(d, s *eventData) { d.EventTimestamp = s.EventTimestamp },
	"httprequest":          func(d, s *eventData) { d.HTTPRequest = s.HTTPRequest },
	"id":                   func(d, s *eventData) { d.ID = s.ID },
	"level":                func(d, s *eventData) { d.Level = s.Level },
	"operationid":          func(d, s *eventData) { d.OperationID = s.OperationID },
	"operationname":        func(d, s *eventData) { d.OperationName = s.OperationName },
	"properties":           func(d, s *eventData) { d.Properties = s.Properties },
	"resourcegroupname":    func(d, s *eventData) { d.ResourceGroupName = s.ResourceGroupName },
	"resourceprovidername": func(d, s *eventData) { d.ResourceProviderName = s.ResourceProviderName },
	"resourcetype":         func(d, s *eventData) { d.ResourceType = s.ResourceType },
	"resourceid":           func(d, s *eventData) { d.ResourceID = s.ResourceID },
	"status":               func(d, s *eventData) { d.Status = s.Status },
	"substatus":            func(d, s *eventData) { d.SubStatus = s.SubStatus },
	"submissiontimestamp":  func(d, s *eventData) { d.SubmissionTimestamp = s.SubmissionTimestamp },
	"subscriptionid":       func(d, s *eventData) { d.SubscriptionID = s.SubscriptionID },
	"tenantid":             func(d, s *eventData) { d.TenantID = s.TenantID },
}

// selection is a parsed $select: the members to keep, nil for all.
type selection []func(dst, src *eventData)

// parseSelect reads a comma-separated list of top-level members, as az
// writes it (" , " between names). Names are matched case-insensitively;
// an unknown one is refused, naming it.
func parseSelect(s string) (selection, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var sel selection
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		copyMember, ok := selectable[strings.ToLower(name)]
		if !ok {
			return nil, filterErrorf("The $select names '%s', which is not a member of an event; choose from authorization, caller, channels, claims, correlationId, description, eventDataId, eventName, category, eventTimestamp, httpRequest, id, level, operationId, operationName, properties, resourceGroupName, resourceProviderName, resourceType, resourceId, status, subStatus, submissionTimestamp, subscriptionId, tenantId.", truncate(name, 64))
		}
		sel = append(sel, copyMember)
	}
	return sel, nil
}

func (sel selection) apply(e eventData) eventData {
	if sel == nil {
		return e
	}
	var out eventData
	for _, copyMember := range sel {
		copyMember(&out, &e)
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
