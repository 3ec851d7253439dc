package resources

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

var (
	// userAssignedIdentityName: 3–128 characters, letters, digits, hyphen,
	// underscore, starting with a letter or digit (reference §8.1, §12.3).
	userAssignedIdentityName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$`)
	// federatedCredentialName: 3–120 characters (reference §8.3).
	federatedCredentialName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{2,119}$`)
)

// ValidateResourceGroupName applies ARM's rule: 1–90 characters, letters
// (Unicode letters included), digits, '_', '-', '.', '(' and ')', not ending
// in '.' (reference §10.1).
func ValidateResourceGroupName(name string) error {
	n := utf8.RuneCountInString(name)
	ok := n >= 1 && n <= 90 && !strings.HasSuffix(name, ".")
	for _, r := range name {
		if !ok {
			break
		}
		ok = unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_-.()", r)
	}
	if !ok {
		return invalid(CodeInvalidResourceName, "name",
			"Resource group name '%s' is invalid. It can be 1 to 90 characters long and may contain letters, digits, underscores, hyphens, periods and parentheses, and cannot end with a period.", name)
	}
	return nil
}

// ValidateUserAssignedIdentityName applies the Microsoft.ManagedIdentity
// name rule.
func ValidateUserAssignedIdentityName(name string) error {
	if !userAssignedIdentityName.MatchString(name) {
		return invalid(CodeInvalidResourceName, "name",
			"Resource name '%s' is invalid. The name can be 3 to 128 characters long, may contain only letters, digits, hyphens and underscores, and must start with a letter or digit.", name)
	}
	return nil
}

// ValidateFederatedCredentialName applies the federated identity credential
// name rule, with Azure's message (reference §8.3).
func ValidateFederatedCredentialName(name string) error {
	if !federatedCredentialName.MatchString(name) {
		return invalid(CodeBadRequest, "name", "Federated Identity Credential name '%s' is invalid.", name)
	}
	return nil
}

// ValidateResourceName applies ARM's generic rule for resources of any
// type: 1–260 characters, none of < > * % & : \ ? / nor control
// characters, not ending in a period or a space.
func ValidateResourceName(name string) error {
	n := utf8.RuneCountInString(name)
	ok := n >= 1 && n <= 260 && !strings.HasSuffix(name, ".") && !strings.HasSuffix(name, " ") &&
		!strings.ContainsAny(name, `<>*%&:\?/`)
	for _, r := range name {
		if !ok {
			break
		}
		ok = !unicode.IsControl(r)
	}
	if !ok {
		return invalid(CodeInvalidResourceName, "name",
			"Resource name '%s' is invalid. It can be 1 to 260 characters long, cannot contain < > * %% & : \\ ? / or control characters, and cannot end with a period or a space.", name)
	}
	return nil
}
