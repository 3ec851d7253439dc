package arm

import (
	"net/http"
	"regexp"
	"strings"
	"time"
)

// VersionPolicy says which api-version values a route family accepts. ARM
// requires api-version on every request and rejects versions a provider
// does not publish (reference §7.6); the SDK pins one version per client,
// and older tools send older ones, so each family accepts a range.
type VersionPolicy struct {
	// Versions are the accepted values, newest first (compared
	// case-insensitively). Empty means AnyDate.
	Versions []string
	// AnyDate accepts every well-formed YYYY-MM-DD[-suffix] version, as
	// generic resources must: the caller picks the provider's version.
	AnyDate bool
}

// Version families of the built-in routes.
var (
	// ResourcesVersions are Microsoft.Resources versions: resource groups,
	// generic lists, providers (armresources/v3 sends 2025-04-01; the RP
	// registration policy 2019-05-01; older armresources 2021-04-01).
	ResourcesVersions = VersionPolicy{Versions: []string{
		"2025-04-01", "2024-11-01", "2024-07-01", "2024-03-01", "2023-07-01", "2022-12-01", "2022-09-01",
		"2021-04-01", "2021-01-01", "2020-10-01", "2020-06-01", "2019-10-01", "2019-08-01", "2019-07-01",
		"2019-05-10", "2019-05-01", "2019-03-01", "2018-05-01", "2018-02-01", "2016-09-01",
	}}
	// SubscriptionsVersions are Microsoft.Resources subscription versions
	// (armsubscriptions v1 sends 2022-12-01).
	SubscriptionsVersions = VersionPolicy{Versions: []string{
		"2022-12-01", "2021-01-01", "2020-01-01", "2019-11-01", "2019-06-01", "2016-06-01",
	}}
	// ManagedIdentityVersions are Microsoft.ManagedIdentity versions
	// (armmsi v1.3.0 sends 2024-11-30; the specs publish 2026-04-30 and
	// 2026-05-31).
	ManagedIdentityVersions = VersionPolicy{Versions: []string{
		"2026-05-31", "2026-04-30", "2025-01-31-preview", "2024-11-30", "2023-07-31-preview", "2023-01-31",
		"2022-01-31-preview", "2021-09-30-preview", "2018-11-30",
	}}
	// FederatedCredentialVersions: federated identity credentials appeared
	// in 2022-01-31-preview.
	FederatedCredentialVersions = VersionPolicy{Versions: []string{
		"2026-05-31", "2026-04-30", "2025-01-31-preview", "2024-11-30", "2023-07-31-preview", "2023-01-31",
		"2022-01-31-preview",
	}}
	// GenericVersions accept any date version.
	GenericVersions = VersionPolicy{AnyDate: true}
)

var dateVersion = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})(-[A-Za-z]+)?$`)

func (v VersionPolicy) check(got string) error {
	if got == "" {
		return Errorf(http.StatusBadRequest, "MissingApiVersionParameter", "api-version",
			"The api-version query parameter (?api-version=) is required for all requests.")
	}
	if len(v.Versions) == 0 {
		if m := dateVersion.FindStringSubmatch(got); m != nil {
			if _, err := time.Parse(time.DateOnly, m[1]); err == nil {
				return nil
			}
		}
		return Errorf(http.StatusBadRequest, "InvalidApiVersionParameter", "api-version",
			"The api-version '%s' is invalid. The supported versions are dates of the form 'YYYY-MM-DD' with an optional suffix such as '-preview'.", got)
	}
	for _, s := range v.Versions {
		if strings.EqualFold(s, got) {
			return nil
		}
	}
	return Errorf(http.StatusBadRequest, "InvalidApiVersionParameter", "api-version",
		"The api-version '%s' is invalid. The supported versions are '%s'.", got, strings.Join(v.Versions, ","))
}

// sample is a version the policy accepts.
func (v VersionPolicy) sample() string {
	if len(v.Versions) > 0 {
		return v.Versions[0]
	}
	return "2024-01-01"
}
