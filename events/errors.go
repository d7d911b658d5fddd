package events

import "errors"

var (
	// ErrUnknownEventType is returned by Parse for a type no Payload was registered for.
	ErrUnknownEventType = errors.New("events: unknown event type")
	// ErrBadEnvelope is returned by Parse when the JSON is not an event envelope.
	ErrBadEnvelope = errors.New("events: malformed event envelope")
	// ErrBadCallIDToken is returned by DecodeCallID for a token that is not base64url.
	ErrBadCallIDToken = errors.New("events: call-id token is not base64url")
)
