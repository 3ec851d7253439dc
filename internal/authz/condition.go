package authz

import (
	"regexp"

	"github.com/keyless-io/keyless/internal/store"
)

// keyless does not evaluate ABAC conditions. A permission block that has
// one still grants, but never the actions its condition is about: Azure's
// built-in conditions take the form "(!(ActionMatches{'A'})) OR (<rule on
// A>)", which leaves every other action of the block unconditional and
// allows A only in some cases. Refusing A outright grants less than Azure
// would, never more. A condition that names no action at all gives no
// such reading, so its block grants nothing.

// conditionAction finds the actions a condition names, whether it tests
// the action or one of its sub-operations.
var conditionAction = regexp.MustCompile(`(?:ActionMatches|SubOperationMatches)\{\s*'([^']+)'`)

// effective is the block the engine enforces for p.
func effective(p store.Permission) store.Permission {
	if p.Condition == "" {
		return p
	}
	named := conditionAction.FindAllStringSubmatch(p.Condition, -1)
	if len(named) == 0 {
		return store.Permission{}
	}
	q := store.Permission{
		Actions: p.Actions, DataActions: p.DataActions,
		NotActions:     append([]string{}, p.NotActions...),
		NotDataActions: append([]string{}, p.NotDataActions...),
	}
	for _, m := range named {
		// The condition names the action in its own plane; refusing it in
		// both costs nothing, as no action is both.
		q.NotActions = append(q.NotActions, m[1])
		q.NotDataActions = append(q.NotDataActions, m[1])
	}
	return q
}
