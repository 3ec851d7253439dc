package portal

import (
	"strings"
)

// scopeRef is an ARM scope the portal shows: a subscription, a resource
// group or a resource.
type scopeRef struct {
	ID           string
	Subscription string
	Group        string
	// ResourceType is "Namespace/type[/childType]" for a resource.
	ResourceType string
	Name         string
}

func (s scopeRef) Level() string {
	switch {
	case s.ResourceType != "":
		return "resource"
	case s.Group != "":
		return "group"
	case s.Subscription != "":
		return "subscription"
	}
	return "root"
}

func (s scopeRef) IsIdentity() bool {
	return strings.EqualFold(s.ResourceType, "Microsoft.ManagedIdentity/userAssignedIdentities")
}

func (s scopeRef) SubscriptionID() string { return "/subscriptions/" + s.Subscription }

func (s scopeRef) GroupID() string {
	return "/subscriptions/" + s.Subscription + "/resourceGroups/" + s.Group
}

// parseScope reads "/subscriptions/{s}[/resourceGroups/{g}[/providers/{ns}/{type}/{name}...]]".
func parseScope(id string) (scopeRef, bool) {
	segs := strings.Split(strings.Trim(id, "/"), "/")
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return scopeRef{}, false
		}
	}
	ref := scopeRef{ID: "/" + strings.Join(segs, "/")}
	if len(segs) < 2 || !strings.EqualFold(segs[0], "subscriptions") {
		return scopeRef{}, false
	}
	ref.Subscription, ref.Name = segs[1], segs[1]
	if len(segs) == 2 {
		return ref, true
	}
	if len(segs) < 4 || !strings.EqualFold(segs[2], "resourceGroups") {
		return scopeRef{}, false
	}
	ref.Group, ref.Name = segs[3], segs[3]
	if len(segs) == 4 {
		return ref, true
	}
	rest := segs[4:]
	if len(rest) < 4 || !strings.EqualFold(rest[0], "providers") || len(rest)%2 != 0 {
		return scopeRef{}, false
	}
	types := []string{rest[1]}
	for i := 2; i+1 < len(rest); i += 2 {
		types = append(types, rest[i])
	}
	ref.ResourceType, ref.Name = strings.Join(types, "/"), rest[len(rest)-1]
	return ref, true
}

// scopeOfAssignment is the scope part of a role assignment's ID.
func scopeOfAssignment(id string) string {
	i := strings.Index(strings.ToLower(id), "/providers/microsoft.authorization/roleassignments/")
	if i <= 0 {
		return "/"
	}
	return id[:i]
}

func lastSegment(id string) string {
	id = strings.TrimRight(id, "/")
	return id[strings.LastIndex(id, "/")+1:]
}

// portalURL is the portal page of an ARM scope.
func portalURL(id string) string { return Path + "resource" + id }
