// Package events is switchboard's wire contract: the partition function, the
// encoding of Call-IDs for subjects and KV keys, subject names, the event
// envelope with its versioned type strings, and the command request/reply
// shapes. Every node, and every client in any language, must agree with what
// is written here; the JSON Schemas in package schemas describe the same
// shapes and a test keeps the two in step.
//
// Versioning follows the nats-server advisory style: a type string carries
// its version (io.switchboard.<source>.v1.<name>) and a version is add-only.
package events
