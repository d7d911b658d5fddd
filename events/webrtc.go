package events

// WebRTC offers between edges and media workers. An edge that takes a
// browser's SDP offer (the WHIP-style HTTP endpoint, RFC 9725) sends it as
// a NATS request to PartitionSubject(RoleMedia, p, MediaKindWebRTC), p
// being the partition of the call id the edge chose, with the offer as
// data and the headers below. The owner replies with HdrCode and
// HdrReason and, on CodeCreated, the SDP answer as data.
const (
	// MediaKindWebRTC is the kind of WebRTC offer requests on a media
	// partition: sb.p.<p>.webrtc.
	MediaKindWebRTC = "webrtc"

	// TransportWebRTC is the transport of a WebRTC call in events and KV.
	TransportWebRTC = "webrtc"

	// HdrCallID names the call the offer creates (it hashes to p).
	HdrCallID = "Sb-Call-Id"
	// HdrDialTo, if set, is a SIP URI to dial and bridge to the new call.
	HdrDialTo = "Sb-Dial-To"
	// HdrConference, if set, is the room the new call joins.
	HdrConference = "Sb-Conference"
	// HdrAttach, if set, is an existing call of the same partition the new
	// call is bridged to: a ringing inbound call is answered, an answered
	// call without a peer is bridged at once, a call being dialled is
	// bridged when it answers.
	HdrAttach = "Sb-Attach-Call"
	// HdrRoute, if set to RouteEcho, makes the new call an echo test: what
	// the browser sends comes back to it.
	HdrRoute = "Sb-Route"
	// RouteEcho is the route of echo calls (SIP echo_user, or HdrRoute).
	RouteEcho = "echo"
	// HdrPeerCallID, in the reply, is the call the new one is (or will be)
	// bridged to: the one dialled for HdrDialTo, or HdrAttach's.
	HdrPeerCallID = "Sb-Peer-Call-Id"
	// HdrCode is the reply's code: CodeCreated, CodeBadRequest (malformed
	// offer), CodeNotAcceptable (488: no audio, no common codec),
	// CodeConflict (call id in use), CodeServiceUnavailable.
	HdrCode = "Sb-Code"
	// HdrReason is the reply's reason, for people.
	HdrReason = "Sb-Reason"

	// RouteWebRTC is call.incoming's route of a browser's call that is not
	// for a conference room.
	RouteWebRTC = "webrtc"
)
