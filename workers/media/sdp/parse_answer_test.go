package sdp_test

import (
	"errors"
	"testing"

	"github.com/switchboard-voip/switchboard/workers/media/sdp"
)

// sippUASAnswer is sipp's built-in uas scenario answer.
const sippUASAnswer = `v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
`

func TestParseAnswer(t *testing.T) {
	offered := []sdp.Codec{opus, sdp.PCMU, sdp.PCMA}
	for _, c := range []struct {
		name string
		body string
		want sdp.Session
	}{{
		name: "sipp uas", body: sippUASAnswer,
		want: sdp.Session{Addr: ap("127.0.0.1:6000"), RTCPAddr: ap("127.0.0.1:6001"), Codec: sdp.PCMU,
			Ptime: 20, Direction: sdp.SendRecv, SessionID: 53655765, Version: 2353687637},
	}, {
		name: "static type without rtpmap, telephone-event",
		body: edit(t, sippUASAnswer, "RTP/AVP 0\na=rtpmap:0 PCMU/8000\n", "RTP/AVP 8 101\na=rtpmap:101 telephone-event/8000\na=fmtp:101 0-16\na=ptime:30\n"),
		want: sdp.Session{Addr: ap("127.0.0.1:6000"), RTCPAddr: ap("127.0.0.1:6001"), Codec: sdp.PCMA,
			DTMF: te(101, 8000, "0-16"), Ptime: 30, Direction: sdp.SendRecv, SessionID: 53655765, Version: 2353687637},
	}, {
		name: "several codecs: the first offered one",
		body: edit(t, sippUASAnswer, "RTP/AVP 0\na=rtpmap:0 PCMU/8000\n", "RTP/AVP 18 8 0\na=rtpmap:8 PCMA/8000\n"),
		want: sdp.Session{Addr: ap("127.0.0.1:6000"), RTCPAddr: ap("127.0.0.1:6001"), Codec: sdp.PCMA,
			Ptime: 20, Direction: sdp.SendRecv, SessionID: 53655765, Version: 2353687637},
	}, {
		name: "opus renumbered by the answerer: its PT is the one to send with",
		body: edit(t, sippUASAnswer, "RTP/AVP 0\na=rtpmap:0 PCMU/8000\n", "RTP/AVP 109\na=rtpmap:109 OPUS/48000/2\na=fmtp:109 useinbandfec=1\n"),
		want: sdp.Session{Addr: ap("127.0.0.1:6000"), RTCPAddr: ap("127.0.0.1:6001"),
			Codec: sdp.Codec{PT: 109, Name: "opus", Rate: 48000, Channels: 2, Fmtp: "useinbandfec=1"},
			Ptime: 20, Direction: sdp.SendRecv, SessionID: 53655765, Version: 2353687637},
	}, {
		name: "our dynamic PT without rtpmap",
		body: edit(t, sippUASAnswer, "RTP/AVP 0\na=rtpmap:0 PCMU/8000\n", "RTP/AVP 111\n"),
		want: sdp.Session{Addr: ap("127.0.0.1:6000"), RTCPAddr: ap("127.0.0.1:6001"), Codec: opus,
			Ptime: 20, Direction: sdp.SendRecv, SessionID: 53655765, Version: 2353687637},
	}, {
		name: "rtcp-mux accepted: RTCP on the RTP port",
		body: sippUASAnswer + "a=rtcp-mux\n",
		want: sdp.Session{Addr: ap("127.0.0.1:6000"), RTCPAddr: ap("127.0.0.1:6000"), RTCPMux: true, Codec: sdp.PCMU,
			Ptime: 20, Direction: sdp.SendRecv, SessionID: 53655765, Version: 2353687637},
	}, {
		name: "answer to our hold",
		body: sippUASAnswer + "a=recvonly\n",
		want: sdp.Session{Addr: ap("127.0.0.1:6000"), RTCPAddr: ap("127.0.0.1:6001"), Codec: sdp.PCMU,
			Ptime: 20, Direction: sdp.RecvOnly, SessionID: 53655765, Version: 2353687637},
	}, {
		name: "IPv6",
		body: edit(t, edit(t, sippUASAnswer, "c=IN IP4 127.0.0.1", "c=IN IP6 2001:db8::5"), "IN IP4 127.0.0.1", "IN IP6 2001:db8::5"),
		want: sdp.Session{Addr: ap("[2001:db8::5]:6000"), RTCPAddr: ap("[2001:db8::5]:6001"), Codec: sdp.PCMU,
			Ptime: 20, Direction: sdp.SendRecv, SessionID: 53655765, Version: 2353687637},
	}} {
		t.Run(c.name, func(t *testing.T) {
			s, err := sdp.ParseAnswer([]byte(crlf(c.body)), offered)
			if err != nil {
				t.Fatal(err)
			}
			checkSession(t, s, &c.want)
		})
	}
}

func TestParseAnswerErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		body string
		want error
	}{
		{"garbage", "SIP/2.0 200 OK\r\n", sdp.ErrMalformed},
		{"audio rejected", edit(t, sippUASAnswer, "m=audio 6000", "m=audio 0"), sdp.ErrNoAudio},
		{"codec we did not offer", edit(t, sippUASAnswer, "RTP/AVP 0\na=rtpmap:0 PCMU/8000", "RTP/AVP 18"), sdp.ErrNoCommonCodec},
		{"our PT for another format", edit(t, sippUASAnswer, "a=rtpmap:0 PCMU/8000", "a=rtpmap:0 G722/8000"), sdp.ErrNoCommonCodec},
		{"telephone-event only", edit(t, sippUASAnswer, "RTP/AVP 0\na=rtpmap:0 PCMU/8000", "RTP/AVP 101\na=rtpmap:101 telephone-event/8000"), sdp.ErrNoCommonCodec},
		{"another profile", edit(t, sippUASAnswer, "RTP/AVP", "RTP/SAVP"), sdp.ErrUnsupportedProfile},
		{"no c=", edit(t, sippUASAnswer, "c=IN IP4 127.0.0.1\n", ""), sdp.ErrMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := sdp.ParseAnswer([]byte(c.body), g711)
			if !errors.Is(err, c.want) || s != nil {
				t.Errorf("ParseAnswer = %+v, %v; want %v", s, err, c.want)
			}
		})
	}
}

// TestRoundTrip plays both sides: our Offer, the remote's ParseOffer and
// Answer (this package again, with its own address and preferences), and
// our ParseAnswer.
func TestRoundTrip(t *testing.T) {
	remote := sdp.Local{Addr: ap("[2001:db8::77]:31000"), SessionID: 99, Version: 5}
	for _, c := range []struct {
		name      string
		ours      []sdp.Codec
		theirs    []sdp.Codec
		dtmf      bool
		hold      bool
		wantCodec sdp.Codec
	}{
		{"G.711 with DTMF", g711, g711, true, false, sdp.PCMU},
		{"their only codec is our second", g711, []sdp.Codec{sdp.PCMA}, true, false, sdp.PCMA},
		{"no DTMF", g711, g711, false, false, sdp.PCMU},
		{"opus at their PT numbering", []sdp.Codec{opus, sdp.PCMU}, []sdp.Codec{{PT: 96, Name: "opus", Rate: 48000, Channels: 2}}, true, false, opus},
		{"we hold", g711, g711, true, true, sdp.PCMU},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := sdp.SendRecv
			if c.hold {
				want = sdp.SendOnly
			}
			offer := sdp.Offer(ourLocal, c.ours, c.dtmf, want)
			if offer == nil {
				t.Fatal("no offer")
			}
			theirView, err := sdp.ParseOffer(offer, c.theirs)
			if err != nil {
				t.Fatalf("remote ParseOffer: %v", err)
			}
			if theirView.Addr != ourLocal.Addr || theirView.Held() != c.hold {
				t.Errorf("remote sees %v held %v", theirView.Addr, theirView.Held())
			}
			answer, err := sdp.Answer(remote, theirView, sdp.SendRecv)
			if err != nil {
				t.Fatalf("remote Answer: %v", err)
			}
			s, err := sdp.ParseAnswer(answer, c.ours)
			if err != nil {
				t.Fatalf("ParseAnswer: %v\n%s", err, answer)
			}
			if s.Codec != c.wantCodec || s.Addr != remote.Addr || s.SessionID != 99 || s.Version != 5 {
				t.Errorf("got %+v at %v", s.Codec, s.Addr)
			}
			if (s.DTMF != nil) != c.dtmf || s.DTMF != nil && (s.DTMF.Rate != s.Codec.Rate || s.DTMF.PT != theirView.DTMF.PT) {
				t.Errorf("DTMF %+v", s.DTMF)
			}
			wantDir := sdp.SendRecv
			if c.hold {
				wantDir = sdp.RecvOnly
			}
			if s.Direction != wantDir {
				t.Errorf("answer direction %q, want %q", s.Direction, wantDir)
			}
		})
	}
}
