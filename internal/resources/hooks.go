package resources

import (
	"context"
	"strings"

	"github.com/keyless-io/keyless/internal/store"
)

// TypeHook keeps the state a data plane holds for resources of one type
// in step with them, inside the transaction of the ARM write, so that the
// resource and that state never disagree. Hooks are registered once, in
// Config, by resource type; they run for every PUT, PATCH and delete of
// the type (a delete also when it comes with the resource group).
type TypeHook struct {
	// Write runs before a created or updated resource is stored. It may
	// set the properties keyless owns (a vault's vaultUri) in r.Body, or
	// refuse the write with a *ValidationError.
	Write func(ctx context.Context, tx store.Tx, r *store.Resource) error
	// Delete runs before the resource is deleted.
	Delete func(ctx context.Context, tx store.Tx, r store.Resource) error
}

func hookKey(typ string) string { return strings.ToLower(typ) }

func (s *Service) writeHook(ctx context.Context, tx store.Tx, r *store.Resource) error {
	if h, ok := s.hooks[hookKey(r.Type)]; ok && h.Write != nil {
		return h.Write(ctx, tx, r)
	}
	return nil
}

func (s *Service) deleteHook(ctx context.Context, tx store.Tx, r store.Resource) error {
	if h, ok := s.hooks[hookKey(r.Type)]; ok && h.Delete != nil {
		return h.Delete(ctx, tx, r)
	}
	return nil
}

// Invalid returns the *ValidationError a hook refuses a write with (400,
// with ARM's error code and the member at fault as target).
func Invalid(code, target, message string) error {
	return &ValidationError{Code: code, Target: target, Message: message}
}
