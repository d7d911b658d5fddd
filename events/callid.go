package events

import (
	"encoding/base64"
	"fmt"
)

// EncodeCallID turns a SIP Call-ID into a token that is valid both as one NATS
// subject token and as a JetStream KV key: unpadded base64url, whose alphabet
// [A-Za-z0-9_-] is a subset of what both allow. RFC 3261 §25.1 lets Call-IDs
// carry '@', '.', '%', '"', '/' and more, several of which are not allowed in
// subjects ('.', '*', '>') or KV keys ('@', '%').
func EncodeCallID(callID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(callID))
}

// DecodeCallID reverses EncodeCallID. It accepts only tokens EncodeCallID
// produces, so that one Call-ID has exactly one token: non-zero trailing
// bits and CR/LF (which the base64 package otherwise ignores) are rejected.
func DecodeCallID(token string) (string, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadCallIDToken, err)
	}
	if base64.RawURLEncoding.EncodedLen(len(b)) != len(token) {
		return "", fmt.Errorf("%w: %q contains line breaks", ErrBadCallIDToken, token)
	}
	return string(b), nil
}
