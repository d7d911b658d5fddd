package events

import "strconv"

// Subjects, streams and KV buckets. Tokens that come from users (Call-IDs,
// conference names) are always passed through EncodeCallID first; node ids are
// validated at startup to be single subject tokens.
const (
	// CommandPrefix starts every command subject: sb.cmd.<verb>.
	CommandPrefix = "sb.cmd."
	// CommandWildcard is what edges subscribe to, in queue group EdgeQueue.
	CommandWildcard = "sb.cmd.>"
	// EdgeQueue is the queue group shared by every edge, so each command is
	// routed once however many edges run.
	EdgeQueue = "sb-edge"

	// EventWildcard matches every event subject.
	EventWildcard = "sb.evt.>"
	// EventStream is the JetStream stream that captures EventWildcard, so a
	// client that was away replays what it missed.
	EventStream = "SB_EVENTS"

	// BucketNodes holds one key per live node (its heartbeat).
	BucketNodes = "sb_nodes"
	// BucketOwners holds one key per (role, partition): the lease naming the
	// node that owns it. Keys are "<role>.<partition>".
	BucketOwners = "sb_owners"
	// BucketConfig holds cluster-wide settings every node must agree on
	// (the partition count).
	BucketConfig = "sb_config"
	// BucketCalls holds the media role's live calls, keys
	// "<partition>.<encoded call-id>"; other roles read it to tell a live
	// call from an unknown one.
	BucketCalls = "sb_calls"
	// BucketIdempotency holds the replies of commands that carried an
	// idempotency key, so that a retry reaching a partition's new owner
	// is answered, not executed again; keys "<partition>.<hash>", kept
	// IdempotencyTTL.
	BucketIdempotency = "sb_idempotency"
	// ConfigKeyPartitions is the key in BucketConfig holding P.
	ConfigKeyPartitions = "partitions"

	// ServiceName is the NATS micro service name every node registers, so
	// `nats micro ls` lists the cluster.
	ServiceName = "switchboard"
)

// CommandSubject is the subject an application sends a command to.
func CommandSubject(verb string) string { return CommandPrefix + verb }

// PartitionPrefix is the subject prefix of a role's partition p. Call
// partitions (the media role) use the short form of the design,
// sb.p.<p>; other roles own their own partition space: sb.<role>.p.<p>.
func PartitionPrefix(role string, p int) string {
	if role == RoleMedia {
		return "sb.p." + strconv.Itoa(p)
	}
	return "sb." + role + ".p." + strconv.Itoa(p)
}

// PartitionSubject names one kind of traffic for partition p of a role, e.g.
// PartitionSubject("media", 7, "sip") = "sb.p.7.sip".
func PartitionSubject(role string, p int, kind string) string {
	return PartitionPrefix(role, p) + "." + kind
}

// PartitionCommandSubject is where the edge forwards a command for the owner
// of partition p: sb.p.<p>.cmd.<verb>.
func PartitionCommandSubject(role string, p int, verb string) string {
	return PartitionPrefix(role, p) + ".cmd." + verb
}

// CallEventSubject is sb.evt.call.<encoded call-id>.<name>.
func CallEventSubject(callID, name string) string {
	return "sb.evt.call." + EncodeCallID(callID) + "." + name
}

// NodeEventSubject is sb.evt.node.<node>.<name>.
func NodeEventSubject(node, name string) string {
	return "sb.evt.node." + node + "." + name
}

// CallKey is the BucketCalls key of a call of partition p.
func CallKey(p int, callID string) string { return strconv.Itoa(p) + "." + EncodeCallID(callID) }

// OwnerKey is the BucketOwners key of a role's partition.
func OwnerKey(role string, p int) string { return role + "." + strconv.Itoa(p) }

// Roles a worker can run. A partition space (and its ring) exists per role.
const (
	RoleMedia      = "media"
	RoleConference = "conference"
	RoleDTMF       = "dtmf"
)

// AllRoles is every worker role, in the order `switchboard up` starts them.
var AllRoles = []string{RoleMedia, RoleConference, RoleDTMF}

// ValidToken reports whether s can be used as one subject token and one KV
// key segment: non-empty, at most 64 bytes of [A-Za-z0-9_-].
func ValidToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
