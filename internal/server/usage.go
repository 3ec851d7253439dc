package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"time"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/token"
	"github.com/keyless-io/keyless/internal/usage"
	"github.com/keyless-io/keyless/internal/usageapi"
)

// buildUsage makes the replica's usage recorder and its flusher, and has
// the issuer report every token it mints (all token paths mint through
// it). Recording is in memory; the flusher writes every interval.
func (s *Server) buildUsage() {
	if s.cfg.UsageFlushInterval <= 0 {
		s.cfg.UsageFlushInterval = usage.DefaultFlushInterval
	}
	if s.cfg.UsageRetention <= 0 {
		s.cfg.UsageRetention = usage.DefaultRetention
	}
	if s.cfg.ReplicaID == "" {
		s.cfg.ReplicaID = defaultReplicaID()
	}
	s.usage = usage.NewRecorder(usage.Options{})
	s.usageFlusher = &usage.Flusher{
		Recorder: s.usage, Store: s.inst.Store, Replica: s.cfg.ReplicaID,
		Interval: s.cfg.UsageFlushInterval, Logger: s.cfg.Logger,
	}
	s.issuer.Issued = func(c token.Claims) { s.usage.TokenIssued(c.ObjectID, c.Audience) }
}

// defaultReplicaID names this process: the host name and a random suffix,
// so that two replicas on one host (or one restarted) never share rows.
func defaultReplicaID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "replica"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}

// registerUsage mounts the usage API on the front door.
func (s *Server) registerUsage() {
	usageapi.Register(s.arm, usageapi.Config{Store: s.inst.Store, FlushInterval: s.cfg.UsageFlushInterval})
}

// recordRequest counts one control-plane request for its caller: every
// authenticated request that reached a route, reads included, since
// reviews ask which permissions are used. The outcome is RBAC's: a request
// let through counts as allowed whatever the operation then answered.
func (s *Server) recordRequest(rec arm.RequestRecord) {
	if rec.Caller.ObjectID == "" || rec.Action == "" {
		return
	}
	denied := rec.ErrorCode == "AuthorizationFailed" || rec.ErrorCode == "LinkedAuthorizationFailed"
	s.usage.ActionPerformed(rec.Caller.ObjectID, rec.Action, rec.Scope, denied)
}

// FlushUsage writes what this replica recorded so far (tests, and the
// last flush at shutdown).
func (s *Server) FlushUsage(ctx context.Context) error { return s.usageFlusher.Flush(ctx) }

// flushUsageAtShutdown writes the last interval once no request is being
// served any more, while the store is still open.
func (s *Server) flushUsageAtShutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.usageFlusher.Flush(ctx); err != nil {
		s.cfg.Logger.Warn("the last usage flush failed; this interval's usage is lost", "err", err)
	}
}

// compactUsage deletes usage older than the retention (maintenance job).
func (s *Server) compactUsage(ctx context.Context) error {
	_, err := s.inst.Store.Update(ctx, func(tx store.Tx) error {
		_, err := tx.CompactUsage(ctx, time.Now().Add(-s.cfg.UsageRetention))
		return err
	})
	return err
}
