package activity

import (
	"net/http"
	"strings"
)

// Event statuses, as the Azure Activity Log names them.
const (
	StatusStarted   = "Started"
	StatusSucceeded = "Succeeded"
	StatusFailed    = "Failed"
)

// StatusOf is the status of a request answered with code: Failed from
// 400 on; Started for 202 Accepted, whose operation goes on after the
// answer (a resource group's delete, a deployment); Succeeded otherwise.
func StatusOf(code int) string {
	switch {
	case code >= 400:
		return StatusFailed
	case code == http.StatusAccepted:
		return StatusStarted
	}
	return StatusSucceeded
}

// Location is where in the ARM hierarchy an event happened.
type Location struct {
	SubscriptionID   string
	ResourceGroup    string
	ResourceID       string
	ResourceProvider string
	ResourceType     string
}

// Locate places a request path: the resource it addresses (a POST's path
// names an action on the resource before it, as in .../deployments/d/
// validate), its subscription and resource group, and its provider
// namespace and type, read from the last "providers" segment as ARM reads
// extension resources (a role assignment on an identity is a
// Microsoft.Authorization/roleAssignments). Paths above any provider are
// the Microsoft.Resources subscription or group, or the root.
func Locate(method, path string) Location {
	var segs []string
	for _, s := range strings.Split(path, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	if method == http.MethodPost && len(segs) > 0 {
		segs = segs[:len(segs)-1]
	}
	loc := Location{ResourceID: "/" + strings.Join(segs, "/")}
	if len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions") {
		loc.SubscriptionID = segs[1]
		if len(segs) >= 4 && strings.EqualFold(segs[2], "resourceGroups") {
			loc.ResourceGroup = segs[3]
		}
	}
	last := -1
	for i, s := range segs {
		if strings.EqualFold(s, "providers") && i+1 < len(segs) {
			last = i
		}
	}
	switch {
	case last >= 0:
		loc.ResourceProvider = segs[last+1]
		typ := []string{loc.ResourceProvider}
		// Types and names alternate after the namespace.
		for i := last + 2; i < len(segs); i += 2 {
			typ = append(typ, segs[i])
		}
		loc.ResourceType = strings.Join(typ, "/")
	case loc.ResourceGroup != "":
		loc.ResourceProvider, loc.ResourceType = "Microsoft.Resources", "Microsoft.Resources/subscriptions/resourceGroups"
	case loc.SubscriptionID != "":
		loc.ResourceProvider, loc.ResourceType = "Microsoft.Resources", "Microsoft.Resources/subscriptions"
	}
	return loc
}
