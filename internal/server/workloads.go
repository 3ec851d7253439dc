package server

import "net/http"

// registerWorkloads mounts the endpoints through which workloads obtain
// managed-identity tokens (launch grants, agents). Filled in by issue #6.
func (s *Server) registerWorkloads(mux *http.ServeMux) {}
