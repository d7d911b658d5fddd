package sdp

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	psdp "github.com/pion/sdp/v3"
)

// connAddr returns the address of a c= line (RFC 4566 §5.7). The media
// worker sends to it directly, so only a unicast IP literal matching the
// address type is accepted: no host names (nothing would resolve them), no
// multicast with its TTL and range suffixes, no IPv6 zones.
func connAddr(c *psdp.ConnectionInformation) (netip.Addr, error) {
	if c == nil || c.Address == nil {
		return netip.Addr{}, fmt.Errorf("%w: no c= address for the audio stream", ErrMalformed)
	}
	return ipLiteral(c.NetworkType, c.AddressType, c.Address.Address)
}

// ipLiteral validates "<nettype> <addrtype> <address>" as used by c= and
// a=rtcp.
func ipLiteral(nettype, addrtype, address string) (netip.Addr, error) {
	if nettype != "IN" {
		return netip.Addr{}, fmt.Errorf("%w: network type %q", ErrMalformed, nettype)
	}
	a, err := netip.ParseAddr(address)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%w: address %q is not a unicast IP literal", ErrMalformed, address)
	}
	switch {
	case addrtype == "IP4" && a.Is4(), addrtype == "IP6" && a.Is6():
	default:
		return netip.Addr{}, fmt.Errorf("%w: address %q is not of type %q", ErrMalformed, address, addrtype)
	}
	if a.IsMulticast() {
		return netip.Addr{}, fmt.Errorf("%w: multicast address %s is not supported", ErrMalformed, a)
	}
	return a, nil
}

// parseRTCP reads "a=rtcp:<port> [<nettype> <addrtype> <address>]" (RFC
// 3605 §2.1); without an address RTCP goes to the RTP address rtp.
func parseRTCP(v string, rtp netip.Addr) (netip.AddrPort, error) {
	f := strings.Fields(v)
	if len(f) != 1 && len(f) != 4 {
		return netip.AddrPort{}, fmt.Errorf("%w: a=rtcp:%s", ErrMalformed, v)
	}
	port, err := strconv.ParseUint(f[0], 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}, fmt.Errorf("%w: a=rtcp port %q", ErrMalformed, f[0])
	}
	a := rtp
	if len(f) == 4 {
		if a, err = ipLiteral(f[1], f[2], f[3]); err != nil {
			return netip.AddrPort{}, err
		}
	}
	return netip.AddrPortFrom(a, uint16(port)), nil
}

// addrType returns the SDP address type of a (RFC 4566 §5.7).
func addrType(a netip.Addr) string {
	if a.Is4() {
		return "IP4"
	}
	return "IP6"
}
