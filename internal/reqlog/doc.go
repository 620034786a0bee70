// Package reqlog ties log lines to the request they are about: Handler is a
// slog.Handler that adds the request's id (chi's middleware.RequestID value)
// as request_id to every record logged with a context that carries one, and
// WithID gives an id to a request that skipped the middleware.
//
// cmd wraps the server's one log handler with NewHandler; request handlers
// log with the …Context methods and r.Context(). It imports chi's
// middleware and the standard library, nothing internal.
package reqlog
