package events

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StartupWait bounds how long a node that is starting waits for JetStream
// to answer.
const StartupWait = 30 * time.Second

// startupTry bounds one attempt, and startupPause is the pause between two.
const (
	startupTry   = 5 * time.Second
	startupPause = 250 * time.Millisecond
)

// Retry runs op until it succeeds, fails for a reason other than JetStream
// not answering, or StartupWait has passed; ctx ending stops it too.
// JetStream does not answer while it elects a stream's leader after a
// server died, or while a cluster forms: a node starting then (a restart
// after the crash, say) waits instead of exiting with "context deadline
// exceeded" at its first bucket.
func Retry[T any](ctx context.Context, op func(context.Context) (T, error)) (T, error) {
	deadline := time.Now().Add(StartupWait)
	for {
		tctx, cancel := context.WithTimeout(ctx, startupTry)
		v, err := op(tctx)
		cancel()
		if err == nil || ctx.Err() != nil || !unanswered(err) || time.Now().After(deadline) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(startupPause):
		}
	}
}

// unanswered reports whether err says JetStream did not answer (yet), as
// opposed to refusing.
func unanswered(err error) bool {
	var api *jetstream.APIError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout), errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrConnectionReconnecting):
		return true
	case errors.As(err, &api):
		return api.Code == 503 // "JetStream system temporarily unavailable"
	}
	return false
}

// EnsureKV creates or updates a KV bucket, waiting for JetStream (Retry).
func EnsureKV(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	return Retry(ctx, func(ctx context.Context) (jetstream.KeyValue, error) { return js.CreateOrUpdateKeyValue(ctx, cfg) })
}

// EnsureStream creates or updates a stream, waiting for JetStream (Retry).
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	return Retry(ctx, func(ctx context.Context) (jetstream.Stream, error) { return js.CreateOrUpdateStream(ctx, cfg) })
}
