package sdp_test

import (
	"strconv"
	"strings"
	"testing"

	psdp "github.com/pion/sdp/v3"

	"github.com/switchboard-voip/switchboard/workers/media/sdp"
)

func TestOfferGolden(t *testing.T) {
	mux := ourLocal
	mux.RTCPMux = true
	mux.Ptime = 30
	v6 := sdp.Local{Addr: ap("[2001:db8::1]:20000"), SessionID: 7, Version: 9, Username: "b2bua"}
	for _, c := range []struct {
		file   string
		local  sdp.Local
		codecs []sdp.Codec
		dtmf   bool
		want   sdp.Direction
	}{
		{"offer-g711-dtmf.sdp", ourLocal, g711, true, sdp.SendRecv},
		{"offer-pcma-only.sdp", ourLocal, []sdp.Codec{sdp.PCMA}, false, ""},
		{"offer-hold.sdp", ourLocal, g711, true, sdp.SendOnly},
		{"offer-inactive.sdp", ourLocal, g711, true, sdp.Inactive},
		{"offer-opus-g711-mux.sdp", mux, []sdp.Codec{opus, sdp.PCMU, sdp.PCMA}, true, sdp.SendRecv},
		{"offer-ipv6.sdp", v6, []sdp.Codec{g729, sdp.PCMU}, true, sdp.SendRecv},
	} {
		t.Run(c.file, func(t *testing.T) {
			b := sdp.Offer(c.local, c.codecs, c.dtmf, c.want)
			if b == nil {
				t.Fatal("Offer returned nil")
			}
			golden(t, c.file, b)
			var d psdp.SessionDescription
			if err := d.Unmarshal(b); err != nil {
				t.Fatalf("offer does not parse: %v", err)
			}
			if len(d.MediaDescriptions) != 1 {
				t.Fatalf("%d m-lines", len(d.MediaDescriptions))
			}
			// Our own parser reads the codecs back in order, first one chosen.
			s, err := sdp.ParseOffer(b, c.codecs)
			if err != nil {
				t.Fatal(err)
			}
			if s.Codec != (sdp.Codec{PT: c.codecs[0].PT, Name: c.codecs[0].Name, Rate: c.codecs[0].Rate,
				Channels: max(c.codecs[0].Channels, 1), Fmtp: c.codecs[0].Fmtp}) {
				t.Errorf("first codec read back as %+v", s.Codec)
			}
			w := c.want
			if w == "" {
				w = sdp.SendRecv
			}
			if s.Direction != w || s.Addr.Port() != c.local.Addr.Port() || (s.DTMF != nil) != c.dtmf {
				t.Errorf("read back: %+v", s)
			}
		})
	}
}

func TestOfferTelephoneEventPT(t *testing.T) {
	dyn := func(pt uint8) sdp.Codec { return sdp.Codec{PT: pt, Name: "L16", Rate: 8000, Channels: 1} }
	for _, c := range []struct {
		name   string
		codecs []sdp.Codec
		want   string // the m= line
	}{
		{"101 by default", g711, "m=audio 20000 RTP/AVP 0 8 101"},
		{"next free when 101 is taken", []sdp.Codec{sdp.PCMU, dyn(101), dyn(96)}, "m=audio 20000 RTP/AVP 0 101 96 97"},
		{"one per clock rate, 8000 gets 101", []sdp.Codec{opus, sdp.PCMU}, "m=audio 20000 RTP/AVP 111 0 101 96"},
		{"not twice for a rate", []sdp.Codec{sdp.PCMU, sdp.TelephoneEvent(100, 8000)}, "m=audio 20000 RTP/AVP 0 100"},
	} {
		b := sdp.Offer(ourLocal, c.codecs, true, sdp.SendRecv)
		if !strings.Contains(string(b), c.want+"\r\n") {
			t.Errorf("%s: no %q in\n%s", c.name, c.want, b)
		}
	}
	// Packet times outside the worker's range are clamped.
	for _, c := range []struct{ ptime, want int }{{5, 10}, {60, 60}, {200, 60}} {
		local := ourLocal
		local.Ptime = c.ptime
		if b := sdp.Offer(local, g711, false, ""); !strings.Contains(string(b), "a=ptime:"+strconv.Itoa(c.want)+"\r\n") {
			t.Errorf("Local.Ptime %d:\n%s", c.ptime, b)
		}
	}
	// No free dynamic type: no telephone-event, still an offer.
	var all []sdp.Codec
	for pt := uint8(96); pt <= 127; pt++ {
		all = append(all, dyn(pt))
	}
	if b := sdp.Offer(ourLocal, all, true, sdp.SendRecv); b == nil || strings.Contains(string(b), "telephone-event") {
		t.Errorf("full dynamic range:\n%s", b)
	}
}

func TestOfferDoesNotTouchCodecs(t *testing.T) {
	codecs := make([]sdp.Codec, 2, 8)
	copy(codecs, g711)
	_ = sdp.Offer(ourLocal, codecs, true, sdp.SendRecv)
	if full := codecs[:3]; full[2] != (sdp.Codec{}) {
		t.Errorf("Offer wrote into the caller's array: %+v", full)
	}
}

func TestOfferInvalid(t *testing.T) {
	for _, c := range []struct {
		name   string
		local  sdp.Local
		codecs []sdp.Codec
		want   sdp.Direction
	}{
		{"no codecs", ourLocal, nil, sdp.SendRecv},
		{"only telephone-event", ourLocal, []sdp.Codec{sdp.TelephoneEvent(101, 8000)}, sdp.SendRecv},
		{"no local address", sdp.Local{}, g711, sdp.SendRecv},
		{"unknown direction", ourLocal, g711, "both"},
		{"duplicate payload type", ourLocal, []sdp.Codec{sdp.PCMU, {PT: 0, Name: "G722", Rate: 8000}}, sdp.SendRecv},
		{"payload type above 127", ourLocal, []sdp.Codec{{PT: 200, Name: "X", Rate: 8000}}, sdp.SendRecv},
		{"payload type reserved for RTCP", ourLocal, []sdp.Codec{{PT: 72, Name: "X", Rate: 8000}}, sdp.SendRecv},
		{"no name", ourLocal, []sdp.Codec{{PT: 96, Rate: 8000}}, sdp.SendRecv},
		{"no rate", ourLocal, []sdp.Codec{{PT: 96, Name: "X"}}, sdp.SendRecv},
		{"name with slash", ourLocal, []sdp.Codec{{PT: 96, Name: "a/b", Rate: 8000}}, sdp.SendRecv},
		{"fmtp with line break", ourLocal, []sdp.Codec{{PT: 96, Name: "X", Rate: 8000, Fmtp: "a\r\nm=video"}}, sdp.SendRecv},
	} {
		if b := sdp.Offer(c.local, c.codecs, true, c.want); b != nil {
			t.Errorf("%s: Offer returned\n%s", c.name, b)
		}
	}
}
