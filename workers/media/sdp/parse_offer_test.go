package sdp_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/switchboard-voip/switchboard/workers/media/sdp"
)

var (
	g711 = []sdp.Codec{sdp.PCMU, sdp.PCMA}
	opus = sdp.Codec{PT: 111, Name: "opus", Rate: 48000, Channels: 2}
	g729 = sdp.Codec{PT: 18, Name: "G729", Rate: 8000, Channels: 1, Fmtp: "annexb=no"}
)

// te is a telephone-event as parsed from a remote with the given fmtp.
func te(pt uint8, rate uint32, fmtp string) *sdp.Codec {
	return &sdp.Codec{PT: pt, Name: "telephone-event", Rate: rate, Channels: 1, Fmtp: fmtp}
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// edit replaces old by new in an LF description, failing loudly if the
// fixture changed under the test.
func edit(t testing.TB, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("fixture has no %q", old)
	}
	return strings.Replace(s, old, new, 1)
}

func TestParseOffer(t *testing.T) {
	for _, c := range []struct {
		name      string
		body      string
		supported []sdp.Codec
		want      sdp.Session // Media and answerFmtp are not compared here
		held      bool
	}{{
		name: "sipp", body: sippOffer, supported: g711,
		want: sdp.Session{Addr: ap("127.0.0.1:6000"), RTCPAddr: ap("127.0.0.1:6001"),
			Codec: sdp.PCMU, DTMF: te(101, 8000, "0-15"), Ptime: 20, Direction: sdp.SendRecv,
			SessionID: 53655765, Version: 2353687637},
	}, {
		name: "sipp default uac", body: sippDefaultOffer, supported: g711,
		want: sdp.Session{Addr: ap("127.0.0.1:6000"), RTCPAddr: ap("127.0.0.1:6001"),
			Codec: sdp.PCMU, Ptime: 20, Direction: sdp.SendRecv, SessionID: 53655765, Version: 2353687637},
	}, {
		name: "baresip, G.711 only: PCMU and telephone-event/8000", body: baresipOffer, supported: g711,
		want: sdp.Session{Addr: ap("192.168.1.20:10106"), RTCPAddr: ap("192.168.1.20:10107"), RTCPMux: true,
			Codec: sdp.PCMU, DTMF: te(102, 8000, "0-15"), Ptime: 20, Direction: sdp.SendRecv,
			SessionID: 1929581011, Version: 1426163963},
	}, {
		name: "baresip, our order does not matter", body: baresipOffer, supported: []sdp.Codec{sdp.PCMA, sdp.PCMU},
		want: sdp.Session{Addr: ap("192.168.1.20:10106"), RTCPAddr: ap("192.168.1.20:10107"), RTCPMux: true,
			Codec: sdp.PCMU, DTMF: te(102, 8000, "0-15"), Ptime: 20, Direction: sdp.SendRecv,
			SessionID: 1929581011, Version: 1426163963},
	}, {
		name: "baresip, opus: remote PT 96 and telephone-event/48000", body: baresipOffer, supported: []sdp.Codec{opus, sdp.PCMU},
		want: sdp.Session{Addr: ap("192.168.1.20:10106"), RTCPAddr: ap("192.168.1.20:10107"), RTCPMux: true,
			Codec: sdp.Codec{PT: 96, Name: "opus", Rate: 48000, Channels: 2, Fmtp: "stereo=1;sprop-stereo=1"},
			DTMF:  te(101, 48000, "0-15"), Ptime: 20, Direction: sdp.SendRecv,
			SessionID: 1929581011, Version: 1426163963},
	}, {
		name: "linphone audio+video: first supported in remote order", body: linphoneAVOffer, supported: g711,
		want: sdp.Session{Addr: ap("192.168.1.50:7078"), RTCPAddr: ap("192.168.1.50:7079"),
			Codec: sdp.PCMU, DTMF: te(100, 8000, ""), Ptime: 20, Direction: sdp.SendRecv,
			SessionID: 2765, Version: 1537},
	}, {
		name: "linphone: static G729 keeps its fmtp", body: linphoneAVOffer, supported: []sdp.Codec{g729},
		want: sdp.Session{Addr: ap("192.168.1.50:7078"), RTCPAddr: ap("192.168.1.50:7079"),
			Codec: sdp.Codec{PT: 18, Name: "G729", Rate: 8000, Channels: 1, Fmtp: "annexb=yes"},
			DTMF:  te(100, 8000, ""), Ptime: 20, Direction: sdp.SendRecv, SessionID: 2765, Version: 1537},
	}, {
		name: "asterisk hold sendonly, PCMA preferred, maxptime above ptime", body: asteriskHoldOffer, supported: g711,
		want: sdp.Session{Addr: ap("10.0.0.5:14000"), RTCPAddr: ap("10.0.0.5:14001"),
			Codec: sdp.PCMA, DTMF: te(101, 8000, "0-16"), Ptime: 20, Direction: sdp.SendOnly,
			SessionID: 1821, Version: 1822},
		held: true,
	}, {
		name: "polycom session-level inactive", body: polycomInactiveOffer, supported: g711,
		want: sdp.Session{Addr: ap("172.16.4.21:2222"), RTCPAddr: ap("172.16.4.21:2223"),
			Codec: sdp.PCMU, DTMF: te(101, 8000, ""), Ptime: 20, Direction: sdp.Inactive,
			SessionID: 1634567890, Version: 1634567891},
		held: true,
	}, {
		name: "RFC 2543 hold c=0.0.0.0 is sendonly", body: rfc2543HoldOffer, supported: g711,
		want: sdp.Session{Addr: ap("0.0.0.0:18456"), RTCPAddr: ap("0.0.0.0:18457"),
			Codec: sdp.PCMU, DTMF: te(101, 8000, "0-16"), Ptime: 20, Direction: sdp.SendOnly,
			SessionID: 4010, Version: 2504},
		held: true,
	}, {
		name: "IPv6 with a=rtcp on another address", body: ipv6Offer, supported: g711,
		want: sdp.Session{Addr: ap("[2001:db8::10]:40000"), RTCPAddr: ap("[2001:db8::11]:40101"),
			Codec: sdp.PCMA, DTMF: te(101, 8000, "0-15"), Ptime: 30, Direction: sdp.SendRecv,
			SessionID: 3836512425, Version: 3836512425},
	}, {
		name: "audio beside T.38", body: audioT38Offer, supported: g711,
		want: sdp.Session{Addr: ap("192.0.2.7:30000"), RTCPAddr: ap("192.0.2.7:30001"),
			Codec: sdp.PCMA, Ptime: 20, Direction: sdp.SendRecv, SessionID: 1, Version: 1},
	}, {
		name: "best-effort SRTP: the RTP/AVP copy is chosen", body: sdesOffer, supported: g711,
		want: sdp.Session{Addr: ap("192.0.2.20:62002"), RTCPAddr: ap("192.0.2.20:62003"),
			Codec: sdp.PCMU, DTMF: te(101, 8000, "0-15"), Ptime: 20, Direction: sdp.SendRecv,
			SessionID: 1, Version: 1, Stream: 1},
	}, {
		name:      "rtpmap names and attribute names in any case, dynamic PCMU",
		body:      edit(t, sippDefaultOffer, "RTP/AVP 0\na=rtpmap:0 PCMU/8000", "RTP/AVP 97 8\na=RTPMAP:97 pcmu/8000\na=rtpmap:8 pcma/8000\na=SENDONLY"),
		supported: g711,
		want: sdp.Session{Addr: ap("127.0.0.1:6000"), RTCPAddr: ap("127.0.0.1:6001"),
			Codec: sdp.Codec{PT: 97, Name: "PCMU", Rate: 8000, Channels: 1}, Ptime: 20, Direction: sdp.SendOnly,
			SessionID: 53655765, Version: 2353687637},
		held: true,
	}, {
		name:      "static payload types without rtpmap",
		body:      edit(t, sippDefaultOffer, "RTP/AVP 0\na=rtpmap:0 PCMU/8000\n", "RTP/AVP 8 0\n"),
		supported: g711,
		want: sdp.Session{Addr: ap("127.0.0.1:6000"), RTCPAddr: ap("127.0.0.1:6001"),
			Codec: sdp.PCMA, Ptime: 20, Direction: sdp.SendRecv, SessionID: 53655765, Version: 2353687637},
	}, {
		name:      "media-level c= overrides session-level",
		body:      edit(t, sippOffer, "a=rtpmap:0", "c=IN IP4 203.0.113.99\na=rtpmap:0"),
		supported: g711,
		want: sdp.Session{Addr: ap("203.0.113.99:6000"), RTCPAddr: ap("203.0.113.99:6001"),
			Codec: sdp.PCMU, DTMF: te(101, 8000, "0-15"), Ptime: 20, Direction: sdp.SendRecv,
			SessionID: 53655765, Version: 2353687637},
	}, {
		name: "second audio m-line when the first has no common codec",
		body: edit(t, sippDefaultOffer, "m=audio 6000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n",
			"m=audio 5000 RTP/AVP 18\nm=audio 0 RTP/AVP 0\nm=audio 5002 RTP/AVP 0\n"),
		supported: g711,
		want: sdp.Session{Addr: ap("127.0.0.1:5002"), RTCPAddr: ap("127.0.0.1:5003"),
			Codec: sdp.PCMU, Ptime: 20, Direction: sdp.SendRecv, SessionID: 53655765, Version: 2353687637, Stream: 2},
	}, {
		name:      "telephone-event at the codec's rate is preferred over 8000",
		body:      edit(t, sippOffer, "0 101\n", "0 100 101\na=rtpmap:100 telephone-event/16000\n"),
		supported: g711,
		want: sdp.Session{Addr: ap("127.0.0.1:6000"), RTCPAddr: ap("127.0.0.1:6001"),
			Codec: sdp.PCMU, DTMF: te(101, 8000, "0-15"), Ptime: 20, Direction: sdp.SendRecv,
			SessionID: 53655765, Version: 2353687637},
	}, {
		name:      "telephone-event without DTMF events is ignored",
		body:      edit(t, sippOffer, "a=fmtp:101 0-15", "a=fmtp:101 32-49"),
		supported: g711,
		want: sdp.Session{Addr: ap("127.0.0.1:6000"), RTCPAddr: ap("127.0.0.1:6001"),
			Codec: sdp.PCMU, Ptime: 20, Direction: sdp.SendRecv, SessionID: 53655765, Version: 2353687637},
	}, {
		name:      "no a=rtcp at port 65535",
		body:      edit(t, sippDefaultOffer, "m=audio 6000", "m=audio 65535"),
		supported: g711,
		want: sdp.Session{Addr: ap("127.0.0.1:65535"),
			Codec: sdp.PCMU, Ptime: 20, Direction: sdp.SendRecv, SessionID: 53655765, Version: 2353687637},
	}} {
		for _, nl := range []struct {
			name string
			conv func(string) string
		}{
			{"CRLF", crlf},
			{"LF", func(s string) string { return s }},
			{"no final line end", func(s string) string { return strings.TrimSuffix(crlf(s), "\r\n") }},
		} {
			t.Run(c.name+"/"+nl.name, func(t *testing.T) {
				s, err := sdp.ParseOffer([]byte(nl.conv(c.body)), c.supported)
				if err != nil {
					t.Fatalf("ParseOffer: %v", err)
				}
				checkSession(t, s, &c.want)
				if s.Held() != c.held {
					t.Errorf("Held() = %v, want %v", s.Held(), c.held)
				}
			})
		}
	}
}

// checkSession compares everything but Media, which the answer tests check.
func checkSession(t *testing.T, got, want *sdp.Session) {
	t.Helper()
	if got.Addr != want.Addr || got.RTCPAddr != want.RTCPAddr || got.RTCPMux != want.RTCPMux {
		t.Errorf("transport %v rtcp %v mux %v, want %v rtcp %v mux %v",
			got.Addr, got.RTCPAddr, got.RTCPMux, want.Addr, want.RTCPAddr, want.RTCPMux)
	}
	if got.Codec != want.Codec {
		t.Errorf("Codec = %+v, want %+v", got.Codec, want.Codec)
	}
	switch {
	case (got.DTMF == nil) != (want.DTMF == nil):
		t.Errorf("DTMF = %+v, want %+v", got.DTMF, want.DTMF)
	case got.DTMF != nil && *got.DTMF != *want.DTMF:
		t.Errorf("DTMF = %+v, want %+v", *got.DTMF, *want.DTMF)
	}
	if got.Ptime != want.Ptime || got.Direction != want.Direction {
		t.Errorf("ptime %d direction %q, want %d %q", got.Ptime, got.Direction, want.Ptime, want.Direction)
	}
	if got.SessionID != want.SessionID || got.Version != want.Version || got.Stream != want.Stream {
		t.Errorf("o= %d %d stream %d, want %d %d stream %d",
			got.SessionID, got.Version, got.Stream, want.SessionID, want.Version, want.Stream)
	}
}

func TestParseOfferMedia(t *testing.T) {
	for _, c := range []struct {
		name string
		body string
		want []sdp.Media
	}{
		{"linphone", linphoneAVOffer, []sdp.Media{
			{"audio", 7078, "RTP/AVP", []string{"96", "97", "98", "0", "8", "18", "101", "99", "100"}},
			{"video", 9078, "RTP/AVP", []string{"96", "97"}},
		}},
		{"T.38 names survive pion/sdp", audioT38Offer, []sdp.Media{
			{"audio", 30000, "RTP/AVP", []string{"8", "0"}},
			{"image", 30002, "udptl", []string{"t38"}},
		}},
		{"SDES", sdesOffer, []sdp.Media{
			{"audio", 62000, "RTP/SAVP", []string{"0", "8", "101"}},
			{"audio", 62002, "RTP/AVP", []string{"0", "8", "101"}},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := sdp.ParseOffer([]byte(crlf(c.body)), g711)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Media) != len(c.want) {
				t.Fatalf("Media = %+v, want %+v", s.Media, c.want)
			}
			for i := range c.want {
				g, w := s.Media[i], c.want[i]
				if g.Type != w.Type || g.Port != w.Port || g.Proto != w.Proto || strings.Join(g.Formats, " ") != strings.Join(w.Formats, " ") {
					t.Errorf("Media[%d] = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestParseOfferPtime(t *testing.T) {
	for _, c := range []struct {
		attrs string
		want  int
	}{
		{"", 20},
		{"a=ptime:5\n", 10},
		{"a=ptime:10\n", 10},
		{"a=ptime:30\n", 30},
		{"a=ptime:60\n", 60},
		{"a=ptime:100\n", 60},
		{"a=ptime:1000\n", 60},
		{"a=ptime: 40 \n", 40},
		{"a=ptime:40\na=maxptime:30\n", 30},
		{"a=maxptime:20\n", 20},
		{"a=maxptime:240\n", 20},
	} {
		body := edit(t, sippDefaultOffer, "a=rtpmap:0 PCMU/8000\n", "a=rtpmap:0 PCMU/8000\n"+c.attrs)
		s, err := sdp.ParseOffer([]byte(body), g711)
		if err != nil {
			t.Errorf("%q: %v", c.attrs, err)
			continue
		}
		if s.Ptime != c.want {
			t.Errorf("%q: Ptime = %d, want %d", c.attrs, s.Ptime, c.want)
		}
	}
	// Session-level a=ptime, where some stacks put it.
	body := edit(t, sippDefaultOffer, "t=0 0\n", "t=0 0\na=ptime:30\n")
	if s, err := sdp.ParseOffer([]byte(body), g711); err != nil || s.Ptime != 30 {
		t.Errorf("session-level a=ptime:30: %v, %v", s, err)
	}
}

func TestParseOfferDirection(t *testing.T) {
	for _, c := range []struct {
		session, media string // attribute lines
		conn           string
		want           sdp.Direction
	}{
		{"", "", "127.0.0.1", sdp.SendRecv},
		{"", "a=sendrecv\n", "127.0.0.1", sdp.SendRecv},
		{"", "a=sendonly\n", "127.0.0.1", sdp.SendOnly},
		{"", "a=recvonly\n", "127.0.0.1", sdp.RecvOnly},
		{"", "a=inactive\n", "127.0.0.1", sdp.Inactive},
		{"a=sendonly\n", "", "127.0.0.1", sdp.SendOnly},
		{"a=inactive\n", "a=sendrecv\n", "127.0.0.1", sdp.SendRecv},
		{"", "", "0.0.0.0", sdp.SendOnly},
		{"", "a=sendonly\n", "0.0.0.0", sdp.SendOnly},
		{"", "a=recvonly\n", "0.0.0.0", sdp.Inactive},
		{"", "a=inactive\n", "0.0.0.0", sdp.Inactive},
	} {
		body := edit(t, sippDefaultOffer, "t=0 0\n", "t=0 0\n"+c.session)
		body = edit(t, body, "c=IN IP4 127.0.0.1", "c=IN IP4 "+c.conn)
		body += c.media
		s, err := sdp.ParseOffer([]byte(body), g711)
		if err != nil {
			t.Errorf("%q %q %s: %v", c.session, c.media, c.conn, err)
			continue
		}
		if s.Direction != c.want {
			t.Errorf("%q %q %s: Direction = %q, want %q", c.session, c.media, c.conn, s.Direction, c.want)
		}
		if held := c.want == sdp.SendOnly || c.want == sdp.Inactive; s.Held() != held {
			t.Errorf("%q %q %s: Held() = %v", c.session, c.media, c.conn, s.Held())
		}
	}
}

func TestParseOfferErrors(t *testing.T) {
	big := crlf(sippOffer) + strings.Repeat("a=x-padding:0123456789abcdef0123456789abcdef\r\n", sdp.MaxSize/40)
	for _, c := range []struct {
		name string
		body string
		want []error
	}{
		{"empty", "", []error{sdp.ErrMalformed}},
		{"not SDP", "hello world\r\n", []error{sdp.ErrMalformed}},
		{"HTML", "<html><body>no</body></html>", []error{sdp.ErrMalformed}},
		{"only v=", "v=0\r\n", []error{sdp.ErrMalformed}},
		{"truncated before t=", sippOffer[:strings.Index(sippOffer, "t=0")], []error{sdp.ErrMalformed}},
		{"v=1", edit(t, sippOffer, "v=0", "v=1"), []error{sdp.ErrMalformed}},
		{"too large", big, []error{sdp.ErrMalformed}},
		{"trailing garbage", crlf(sippOffer) + "\x00\xffgarbage", []error{sdp.ErrMalformed}},
		{"trailing line of junk", sippOffer + "junk\n", []error{sdp.ErrMalformed}},
		{"bare CR", strings.ReplaceAll(sippOffer, "\n", "\r"), []error{sdp.ErrMalformed}},
		{"missing c=", edit(t, sippOffer, "c=IN IP4 127.0.0.1\n", ""), []error{sdp.ErrMalformed}},
		{"c= without address", edit(t, sippOffer, "c=IN IP4 127.0.0.1", "c=IN IP4"), []error{sdp.ErrMalformed}},
		{"c= host name", edit(t, sippOffer, "c=IN IP4 127.0.0.1", "c=IN IP4 pbx.example.com"), []error{sdp.ErrMalformed}},
		{"c= type mismatch", edit(t, sippOffer, "c=IN IP4 127.0.0.1", "c=IN IP4 ::1"), []error{sdp.ErrMalformed}},
		{"c= IPv6 zone", edit(t, sippOffer, "c=IN IP4 127.0.0.1", "c=IN IP6 fe80::1%eth0"), []error{sdp.ErrMalformed}},
		{"c= unsupported type", edit(t, sippOffer, "c=IN IP4 127.0.0.1", "c=IN IPX 127.0.0.1"), []error{sdp.ErrMalformed}},
		{"c= multicast", edit(t, sippOffer, "c=IN IP4 127.0.0.1", "c=IN IP4 224.2.1.1/127"), []error{sdp.ErrMalformed}},
		{"c= IPv6 multicast", edit(t, sippOffer, "c=IN IP4 127.0.0.1", "c=IN IP6 ff0e::101"), []error{sdp.ErrMalformed}},
		{"port out of range", edit(t, sippOffer, "m=audio 6000", "m=audio 70000"), []error{sdp.ErrMalformed}},
		{"port not a number", edit(t, sippOffer, "m=audio 6000", "m=audio x"), []error{sdp.ErrMalformed}},
		{"payload type above 127", edit(t, sippOffer, "RTP/AVP 0 101", "RTP/AVP 0 200"), []error{sdp.ErrMalformed}},
		{"rtpmap without rate", edit(t, sippOffer, "a=rtpmap:0 PCMU/8000", "a=rtpmap:0 PCMU"), []error{sdp.ErrMalformed}},
		{"rtpmap rate 0", edit(t, sippOffer, "a=rtpmap:0 PCMU/8000", "a=rtpmap:0 PCMU/0"), []error{sdp.ErrMalformed}},
		{"fmtp without payload type", edit(t, sippOffer, "a=fmtp:101 0-15", "a=fmtp:x 0-15"), []error{sdp.ErrMalformed}},
		{"ptime 0", edit(t, sippOffer, "a=ptime:20", "a=ptime:0"), []error{sdp.ErrMalformed}},
		{"ptime negative", edit(t, sippOffer, "a=ptime:20", "a=ptime:-20"), []error{sdp.ErrMalformed}},
		{"ptime text", edit(t, sippOffer, "a=ptime:20", "a=ptime:twenty"), []error{sdp.ErrMalformed}},
		{"ptime absurd", edit(t, sippOffer, "a=ptime:20", "a=ptime:5000"), []error{sdp.ErrMalformed}},
		{"maxptime absurd", edit(t, sippOffer, "a=ptime:20", "a=maxptime:0"), []error{sdp.ErrMalformed}},
		{"rtcp port 0", edit(t, sippOffer, "a=ptime:20", "a=rtcp:0"), []error{sdp.ErrMalformed}},
		{"rtcp port too large", edit(t, sippOffer, "a=ptime:20", "a=rtcp:70000"), []error{sdp.ErrMalformed}},
		{"rtcp address incomplete", edit(t, sippOffer, "a=ptime:20", "a=rtcp:6001 IN IP4"), []error{sdp.ErrMalformed}},
		{"rtcp address bad", edit(t, sippOffer, "a=ptime:20", "a=rtcp:6001 IN IP4 example.com"), []error{sdp.ErrMalformed}},
		{"no m-line", sippOffer[:strings.Index(sippOffer, "m=")], []error{sdp.ErrNoAudio}},
		{"audio rejected", edit(t, sippOffer, "m=audio 6000", "m=audio 0"), []error{sdp.ErrNoAudio}},
		{"video only", edit(t, sippOffer, "m=audio", "m=video"), []error{sdp.ErrNoAudio}},
		{"T.38 re-offer", t38ReOffer, []error{sdp.ErrNoAudio}},
		{"G.729 only", edit(t, sippOffer, "RTP/AVP 0 101", "RTP/AVP 18 101"), []error{sdp.ErrNoCommonCodec}},
		{"telephone-event only", edit(t, sippOffer, "RTP/AVP 0 101", "RTP/AVP 101"), []error{sdp.ErrNoCommonCodec}},
		{"dynamic type without rtpmap", edit(t, sippDefaultOffer, "RTP/AVP 0\na=rtpmap:0 PCMU/8000", "RTP/AVP 96"), []error{sdp.ErrNoCommonCodec}},
		{"unassigned static type", edit(t, sippDefaultOffer, "RTP/AVP 0\na=rtpmap:0 PCMU/8000", "RTP/AVP 35"), []error{sdp.ErrNoCommonCodec}},
		{"PCMU at another rate", edit(t, sippOffer, "a=rtpmap:0 PCMU/8000", "a=rtpmap:0 PCMU/16000"), []error{sdp.ErrNoCommonCodec}},
		{"PCMU stereo", edit(t, sippOffer, "a=rtpmap:0 PCMU/8000", "a=rtpmap:0 PCMU/8000/2"), []error{sdp.ErrNoCommonCodec}},
		{"Chromium WebRTC", chromiumOffer, []error{sdp.ErrNoCommonCodec, sdp.ErrUnsupportedProfile}},
		{"SRTP only", edit(t, sippOffer, "RTP/AVP", "RTP/SAVP"), []error{sdp.ErrNoCommonCodec, sdp.ErrUnsupportedProfile}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := sdp.ParseOffer([]byte(c.body), g711)
			if err == nil {
				t.Fatalf("no error, session %+v", s)
			}
			for _, w := range c.want {
				if !errors.Is(err, w) {
					t.Errorf("error %q is not %q", err, w)
				}
			}
			if !slicesContain(c.want, sdp.ErrUnsupportedProfile) && errors.Is(err, sdp.ErrUnsupportedProfile) {
				t.Errorf("error %q is also ErrUnsupportedProfile", err)
			}
			if s != nil {
				t.Errorf("session %+v with an error", s)
			}
		})
	}
}

func slicesContain(errs []error, e error) bool {
	for _, x := range errs {
		if x == e {
			return true
		}
	}
	return false
}
