package events

// SIP between edges and workers. An edge publishes every SIP message it
// receives as a NATS request on PartitionSubject(RoleMedia, p, "sip") with the
// raw message as data and the headers below; the owner acknowledges at once
// (an empty reply), so an edge knows within milliseconds whether the
// partition has an owner (no responders: 503 with Retry-After).
//
// Responses the owner wants sent on an edge's server transaction go to
// EdgeSIPSubject(edge) with HdrTx naming the transaction. Requests the owner
// originates (BYE, re-INVITE, outbound INVITE, ACK, CANCEL) go to
// EdgeOutSubject(edge) or, when any edge will do, EdgeAnyOutSubject; the
// edge replies with its id, sends the request in a client transaction, and
// publishes each response to the call's partition subject.
const (
	// HdrEdge names the edge that received (or sent) the message.
	HdrEdge = "Sb-Edge"
	// HdrTransport is udp, tcp, tls, ws or wss.
	HdrTransport = "Sb-Transport"
	// HdrSource is the ip:port the message came from.
	HdrSource = "Sb-Source"
	// HdrTx is the edge-local id of a server transaction awaiting responses.
	HdrTx = "Sb-Tx"
	// HdrKind says what the message is: KindRequest, KindResponse or
	// KindCancelled (the edge's transaction was cancelled by a CANCEL it
	// answered itself; data is that CANCEL).
	HdrKind = "Sb-Kind"
	// HdrError carries an edge's reason when it could not send a request.
	HdrError = "Sb-Error"
	// HdrProbe on a message to an edge's out subject asks only whether the
	// edge is there: it replies at once and sends nothing. A worker waiting
	// for the final response to a request asks before sending it again, since
	// the edge's transaction retransmits (and ends with a 408) while it lives.
	HdrProbe = "Sb-Probe"

	// ContactPlaceholder is the Contact host workers write: only the edge
	// that sends a message knows the address the far end can reach the
	// platform at, so it puts its own there.
	ContactPlaceholder = "edge.invalid"

	KindRequest   = "request"
	KindResponse  = "response"
	KindCancelled = "cancelled"

	// EdgeOutQueue is the queue group of EdgeAnyOutSubject.
	EdgeOutQueue = "sb-edge-out"
	// EdgeAnyOutSubject takes requests any live edge may send.
	EdgeAnyOutSubject = "sb.edge.any.out"
)

// EdgeSIPSubject is where an edge takes responses for its server transactions.
func EdgeSIPSubject(edge string) string { return "sb.edge." + edge + ".sip" }

// EdgeOutSubject is where an edge takes requests to send (used when a
// dialog must leave through the edge that holds its connection).
func EdgeOutSubject(edge string) string { return "sb.edge." + edge + ".out" }
