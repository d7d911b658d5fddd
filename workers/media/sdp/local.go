package sdp

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

	psdp "github.com/pion/sdp/v3"
)

// Local describes the media worker's side of a leg, for Offer and Answer.
type Local struct {
	// Addr is our RTP address: the c= address and the audio m-line port.
	Addr netip.AddrPort
	// SessionID is the o= session id (RFC 4566 §5.2), fixed for a dialog.
	// Like Version it must fit a signed 64-bit integer (RFC 3264 §5).
	SessionID uint64
	// Version is the o= session version. The caller increments it for
	// each new offer or answer in a dialog that changes anything, and
	// keeps it when repeating one (RFC 3264 §8); RFC 3264 §5 wants the
	// initial value below 2**62-1 so that it never rolls over.
	Version uint64
	// Username is the o= username; empty means "switchboard". It must not
	// contain blanks (RFC 4566 §5.2).
	Username string
	// RTCP is our RTCP address when it is not Addr's port plus one; it is
	// then announced with a=rtcp (RFC 3605). Zero means port plus one.
	RTCP netip.AddrPort
	// RTCPMux makes Offer offer, and Answer accept when offered, RTP and
	// RTCP on one port (RFC 5761 §5.1.1).
	RTCPMux bool
	// Ptime is the packet time in ms we want to receive (a=ptime, RFC 4566
	// §6), clamped to MinPtime-MaxPtime. Zero means DefaultPtime in an
	// offer and, in an answer, the offer's, so that both directions use
	// the same.
	Ptime int
}

// defaultUsername is the o= username when Local.Username is empty.
const defaultUsername = "switchboard"

// check validates l for use in a description.
func (l Local) check() error {
	a := l.Addr.Addr().Unmap()
	switch {
	case !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.Zone() != "" || l.Addr.Port() == 0:
		return fmt.Errorf("%w: local address %v", ErrBadArgument, l.Addr)
	case l.SessionID > math.MaxInt64 || l.Version > math.MaxInt64:
		return fmt.Errorf("%w: o= session id and version must fit 63 bits", ErrBadArgument)
	case strings.ContainsAny(l.Username, " \t\r\n"):
		return fmt.Errorf("%w: o= username %q", ErrBadArgument, l.Username)
	case l.Ptime < 0:
		return fmt.Errorf("%w: ptime %d", ErrBadArgument, l.Ptime)
	case l.RTCP.IsValid() && (l.RTCP.Port() == 0 || l.RTCP.Addr().IsUnspecified() ||
		l.RTCP.Addr().IsMulticast() || l.RTCP.Addr().Zone() != ""):
		return fmt.Errorf("%w: local RTCP address %v", ErrBadArgument, l.RTCP)
	}
	return nil
}

// description starts a description from l: v=0, o=, s=-, c=, t=0 0 (RFC
// 4566 §5; s=- and t=0 0 are what RFC 3264 §5 asks of SIP).
func (l Local) description() *psdp.SessionDescription {
	a := l.Addr.Addr().Unmap()
	user := l.Username
	if user == "" {
		user = defaultUsername
	}
	return &psdp.SessionDescription{
		Origin: psdp.Origin{
			Username:       user,
			SessionID:      l.SessionID,
			SessionVersion: l.Version,
			NetworkType:    "IN",
			AddressType:    addrType(a),
			UnicastAddress: a.String(),
		},
		SessionName: "-",
		ConnectionInformation: &psdp.ConnectionInformation{
			NetworkType: "IN",
			AddressType: addrType(a),
			Address:     &psdp.Address{Address: a.String()},
		},
		TimeDescriptions: []psdp.TimeDescription{{}},
	}
}

// audioAttributes appends what Offer and Answer both write after the
// rtpmap and fmtp lines of the audio stream: a=ptime, a=rtcp when useful,
// a=rtcp-mux when mux is set, and the direction.
func (l Local) audioAttributes(attrs []psdp.Attribute, ptime int, mux bool, dir Direction) []psdp.Attribute {
	attrs = append(attrs, psdp.NewAttribute("ptime", strconv.Itoa(ptime)))
	if v, ok := l.rtcpAttribute(); ok {
		attrs = append(attrs, psdp.NewAttribute("rtcp", v))
	}
	if mux {
		attrs = append(attrs, psdp.NewPropertyAttribute("rtcp-mux"))
	}
	return append(attrs, psdp.NewPropertyAttribute(string(dir)))
}

// rtcpAttribute returns the a=rtcp value (RFC 3605 §2.1) when our RTCP is
// not where the peer would look by default, Addr's port plus one on the
// same address; otherwise the line is noise some old stacks choke on.
func (l Local) rtcpAttribute() (string, bool) {
	if !l.RTCP.IsValid() {
		return "", false
	}
	rtp, rtcp := l.Addr.Addr().Unmap(), l.RTCP.Addr().Unmap()
	if rtcp == rtp && uint32(l.RTCP.Port()) == uint32(l.Addr.Port())+1 {
		return "", false
	}
	v := strconv.Itoa(int(l.RTCP.Port()))
	if rtcp != rtp {
		v += " IN " + addrType(rtcp) + " " + rtcp.String()
	}
	return v, true
}
