package keyvaultapi

import (
	"time"

	"github.com/keyless-io/keyless/internal/keyvault"
)

// Key Vault's secrets wire format (api-version 7.x and the SDKs' dated
// versions send the same bodies): times are Unix seconds.

type attributesWire struct {
	Enabled         *bool  `json:"enabled,omitempty"`
	NotBefore       *int64 `json:"nbf,omitempty"`
	Expires         *int64 `json:"exp,omitempty"`
	Created         *int64 `json:"created,omitempty"`
	Updated         *int64 `json:"updated,omitempty"`
	RecoveryLevel   string `json:"recoveryLevel,omitempty"`
	RecoverableDays *int   `json:"recoverableDays,omitempty"`
}

type secretWire struct {
	Value       *string           `json:"value,omitempty"`
	ID          string            `json:"id"`
	ContentType string            `json:"contentType,omitempty"`
	Attributes  attributesWire    `json:"attributes"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Deleted secrets only.
	RecoveryID         string `json:"recoveryId,omitempty"`
	DeletedDate        *int64 `json:"deletedDate,omitempty"`
	ScheduledPurgeDate *int64 `json:"scheduledPurgeDate,omitempty"`
}

type pageWire struct {
	Value    []secretWire `json:"value"`
	NextLink *string      `json:"nextLink"`
}

// setRequest is SetSecretParameters; updateRequest is
// UpdateSecretPropertiesParameters.
type setRequest struct {
	Value       *string           `json:"value"`
	ContentType *string           `json:"contentType"`
	Attributes  *attributesWire   `json:"attributes"`
	Tags        map[string]string `json:"tags"`
}

type updateRequest struct {
	ContentType *string           `json:"contentType"`
	Attributes  *attributesWire   `json:"attributes"`
	Tags        map[string]string `json:"tags"`
}

type blobWire struct {
	Value string `json:"value"`
}

type errorWire struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code       string     `json:"code"`
	Message    string     `json:"message"`
	InnerError *innerWire `json:"innererror,omitempty"`
}

type innerWire struct {
	Code string `json:"code"`
}

func unixPtr(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	u := t.Unix()
	return &u
}

func timePtr(u *int64) *time.Time {
	if u == nil {
		return nil
	}
	t := time.Unix(*u, 0).UTC()
	return &t
}

func attributesOf(a *attributesWire) keyvault.Attributes {
	if a == nil {
		return keyvault.Attributes{}
	}
	return keyvault.Attributes{Enabled: a.Enabled, NotBefore: timePtr(a.NotBefore), Expires: timePtr(a.Expires)}
}
