package server

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/activity"
	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/monitorapi"
	"github.com/keyless-io/keyless/internal/store"
)

// registerActivityLog builds this replica's activity log buffer and serves
// the Activity Log API from it and the store.
func (s *Server) registerActivityLog() {
	s.activity = &activity.Log{
		Store: s.inst.Store, Interval: s.cfg.ActivityFlushInterval, Logger: s.cfg.Logger,
	}
	monitorapi.Register(s.arm, monitorapi.Config{
		Store: s.inst.Store, TenantID: s.inst.TenantID, Issuer: s.issuer.Issuer, BaseURL: s.baseURL,
		Flush: s.activity.Flush,
	})
}

// recordActivity adds an audited ARM request to the activity log: the
// same changes and refusals the audit log records, less those of callers
// who never authenticated (anyone can send those; they stay in the audit
// log, which the store's size does not bound). The request path is kept,
// never its query or body.
func (s *Server) recordActivity(rec arm.RequestRecord) {
	if s.activity == nil || rec.Caller.ObjectID == "" {
		return
	}
	loc := activity.Locate(rec.Method, rec.Path)
	scope := rec.Scope
	if scope == "" {
		scope = loc.ResourceID
	}
	s.activity.Record(store.ActivityEvent{
		ID:               uuid.NewString(),
		Time:             time.Now(),
		SubscriptionID:   loc.SubscriptionID,
		ResourceGroup:    loc.ResourceGroup,
		ResourceID:       loc.ResourceID,
		ResourceProvider: loc.ResourceProvider,
		ResourceType:     loc.ResourceType,
		Action:           rec.Action,
		Scope:            scope,
		Method:           rec.Method,
		Status:           activity.StatusOf(rec.Status),
		HTTPStatus:       rec.Status,
		ErrorCode:        rec.ErrorCode,
		CorrelationID:    rec.CorrelationID,
		RequestID:        rec.RequestID,
		ClientRequestID:  rec.ClientRequestID,
		ClientAddress:    rec.ClientAddress,
		CallerObjectID:   rec.Caller.ObjectID,
		CallerAppID:      rec.Caller.AppID,
		CallerTenantID:   rec.Caller.TenantID,
	})
}

// runActivityLog flushes the activity log every interval until ctx ends.
func (s *Server) runActivityLog(ctx context.Context) {
	if s.activity != nil {
		s.activity.Run(ctx)
	}
}

// flushActivityLog writes what is still buffered once the server has
// stopped serving, before the store closes.
func (s *Server) flushActivityLog() {
	if s.activity == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.activity.Flush(ctx); err != nil {
		s.cfg.Logger.Error("activity log: the last flush failed; its events are lost", "err", err, "events", s.activity.Buffered())
	}
}

// compactActivityLog deletes events older than the retention (the
// maintenance job calls it; every replica may: it is idempotent).
func (s *Server) compactActivityLog(ctx context.Context) {
	if s.activity == nil {
		return
	}
	if _, err := s.activity.Compact(ctx, s.cfg.ActivityRetention); err != nil && ctx.Err() == nil {
		s.cfg.Logger.Warn("activity log compaction failed; will retry", "err", err)
	}
}
