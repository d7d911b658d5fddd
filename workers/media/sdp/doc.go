// Package sdp is the offer/answer model (RFC 3264) the media worker of the
// B2BUA needs for its audio legs, on top of github.com/pion/sdp/v3 for the
// SDP syntax itself (RFC 4566).
//
// The worker terminates media on each leg, so every leg negotiates on its
// own: ParseOffer picks one codec from a remote offer and Answer mirrors
// that offer with exactly one codec; Offer describes an outgoing leg and
// ParseAnswer reads what the remote accepted. Codecs are matched by name,
// clock rate and channels, never by payload type number, because each side
// numbers dynamic payload types (96-127, RFC 3551 §3) on its own; the
// number kept in a Session is always the remote's, which is the one to
// send with (RFC 3264 §5.1).
//
// # Scope
//
// Only audio over plain RTP/AVP (RFC 3551) is answered. Any other stream,
// including audio over another profile such as RTP/SAVP or
// UDP/TLS/RTP/SAVPF, is rejected with port 0 in the answer, keeping the
// number and order of m-lines (RFC 3264 §6). An offer whose active audio
// streams all use another profile fails with ErrUnsupportedProfile, which
// is always returned together with ErrNoCommonCodec so that a caller
// mapping ErrNoCommonCodec to 488 needs no second case.
//
// # Hold
//
// A remote holds us with a=sendonly or a=inactive (RFC 3264 §8.4) or, per
// RFC 2543, with the connection address 0.0.0.0; the latter is folded into
// Session.Direction as sendonly so that callers only look at Direction or
// Held. Offer with want=SendOnly puts the remote on hold the RFC 3264 way.
//
// # Robustness
//
// Input is limited to MaxSize bytes; line ends may be CRLF or LF (a bare
// CR is refused); anything else pion/sdp rejects, and a panic inside it,
// becomes ErrMalformed. pion/sdp only knows a fixed list of media types and
// transport protocols and refuses the rest (notably "m=image 0 udptl t38",
// the usual T.38 re-offer), so such m-lines are renamed before parsing and
// restored afterwards: they are then rejected like any other non-audio
// stream instead of failing the whole description.
package sdp
