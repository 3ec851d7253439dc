// Package localmi serves the local managed-identity endpoints that
// unchanged Azure SDK programs call, in the three flavours the clients
// speak (reference §2.3–2.5): IMDS (`Metadata: true`), Azure Arc (a 401
// challenge answered with the contents of a key file only privileged local
// users can read) and App Service (a per-launch secret, in
// `X-IDENTITY-HEADER` for 2019-08-01 and in `secret` for 2017-09-01), each
// answered in its own response shape and JSON types. The agent and the
// launcher both build on it.
//
// It caches tokens per (identity selector, resource) until their refresh
// time, drops the cache when told that an identity changed, and never
// writes a token or the App Service secret to disk. It rejects every
// request that carries X-Forwarded-For, as the real endpoints do, so a
// server-side request forgery through a local proxy cannot reach it.
package localmi
