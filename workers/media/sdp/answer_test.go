package sdp_test

import (
	"bytes"
	"errors"
	"flag"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	psdp "github.com/pion/sdp/v3"

	"github.com/switchboard-voip/switchboard/workers/media/sdp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// ourLocal is the media worker's side in the answer tests.
var ourLocal = sdp.Local{Addr: ap("10.0.0.1:20000"), SessionID: 42, Version: 1}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", name, got, want)
	}
}

func TestAnswerGolden(t *testing.T) {
	v6 := ourLocal
	v6.Addr = ap("[2001:db8::1]:20000")
	mux := ourLocal
	mux.RTCPMux = true
	for _, c := range []struct {
		file      string
		offer     string
		supported []sdp.Codec
		local     sdp.Local
		want      sdp.Direction
	}{
		{"answer-sipp.sdp", sippOffer, g711, ourLocal, sdp.SendRecv},
		{"answer-sipp-default.sdp", sippDefaultOffer, g711, ourLocal, ""},
		{"answer-baresip-rtcp-mux.sdp", baresipOffer, g711, mux, sdp.SendRecv},
		{"answer-baresip-opus.sdp", baresipOffer, []sdp.Codec{opus}, ourLocal, sdp.SendRecv},
		{"answer-linphone-video-rejected.sdp", linphoneAVOffer, g711, ourLocal, sdp.SendRecv},
		{"answer-asterisk-hold.sdp", asteriskHoldOffer, g711, ourLocal, sdp.SendRecv},
		{"answer-polycom-inactive.sdp", polycomInactiveOffer, g711, ourLocal, sdp.SendRecv},
		{"answer-rfc2543-hold.sdp", rfc2543HoldOffer, g711, ourLocal, sdp.SendRecv},
		{"answer-ipv6.sdp", ipv6Offer, g711, v6, sdp.SendRecv},
		{"answer-t38-rejected.sdp", audioT38Offer, g711, ourLocal, sdp.SendRecv},
		{"answer-sdes-savp-rejected.sdp", sdesOffer, g711, ourLocal, sdp.SendRecv},
		{"answer-we-hold.sdp", sippOffer, g711, ourLocal, sdp.SendOnly},
	} {
		t.Run(c.file, func(t *testing.T) {
			offer, err := sdp.ParseOffer([]byte(crlf(c.offer)), c.supported)
			if err != nil {
				t.Fatal(err)
			}
			b, err := sdp.Answer(c.local, offer, c.want)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, c.file, b)
			checkAnswer(t, b, offer, c.local, c.want)
		})
	}
}

// checkAnswer parses an answer back with pion/sdp and checks the rules of
// RFC 3264 §6 and §6.1 against the offer it answers.
func checkAnswer(t *testing.T, b []byte, offer *sdp.Session, local sdp.Local, want sdp.Direction) {
	t.Helper()
	d := new(psdp.SessionDescription)
	if err := d.Unmarshal(b); err != nil {
		// pion/sdp refuses media types it does not know, see vocabulary.go.
		if !bytes.Contains(b, []byte("m=image ")) {
			t.Fatalf("answer does not parse: %v\n%s", err, b)
		}
		if d, err = sdp.Parse(b); err != nil {
			t.Fatalf("answer does not parse: %v\n%s", err, b)
		}
	}
	ip := local.Addr.Addr().Unmap()
	typ := "IP4"
	if ip.Is6() {
		typ = "IP6"
	}
	user := local.Username
	if user == "" {
		user = "switchboard"
	}
	if o := d.Origin; o.Username != user || o.SessionID != local.SessionID || o.SessionVersion != local.Version ||
		o.NetworkType != "IN" || o.AddressType != typ || o.UnicastAddress != ip.String() {
		t.Errorf("o=%v", o)
	}
	if d.SessionName != "-" || len(d.TimeDescriptions) != 1 || d.TimeDescriptions[0].Timing != (psdp.Timing{}) {
		t.Errorf("s=%q t=%v", d.SessionName, d.TimeDescriptions)
	}
	if c := d.ConnectionInformation; c == nil || c.AddressType != typ || c.Address == nil || c.Address.Address != ip.String() {
		t.Errorf("c=%v", c)
	}
	if len(d.MediaDescriptions) != len(offer.Media) {
		t.Fatalf("%d m-lines for %d offered", len(d.MediaDescriptions), len(offer.Media))
	}
	for i, md := range d.MediaDescriptions {
		m := offer.Media[i]
		if md.MediaName.Media != m.Type || strings.Join(md.MediaName.Protos, "/") != m.Proto {
			t.Errorf("m-line %d is %v for offered %+v", i, md.MediaName, m)
		}
		if i != offer.Stream {
			if md.MediaName.Port.Value != 0 || len(md.MediaName.Formats) != 1 || len(md.Attributes) != 0 {
				t.Errorf("rejected m-line %d: %v %v", i, md.MediaName, md.Attributes)
			}
			continue
		}
		if md.MediaName.Port.Value != int(local.Addr.Port()) {
			t.Errorf("audio port %d", md.MediaName.Port.Value)
		}
		formats := []string{strconv.Itoa(int(offer.Codec.PT))}
		rtpmaps := []string{offer.Codec.String()}
		if offer.DTMF != nil {
			formats = append(formats, strconv.Itoa(int(offer.DTMF.PT)))
			rtpmaps = append(rtpmaps, offer.DTMF.String())
		}
		if !slices.Equal(md.MediaName.Formats, formats) {
			t.Errorf("formats %v, want %v (one codec, the offer's payload types)", md.MediaName.Formats, formats)
		}
		var gotMaps, dirs []string
		for _, a := range md.Attributes {
			switch a.Key {
			case "rtpmap":
				gotMaps = append(gotMaps, a.Value)
			case "sendrecv", "sendonly", "recvonly", "inactive":
				dirs = append(dirs, a.Key)
			}
		}
		if !slices.Equal(gotMaps, rtpmaps) {
			t.Errorf("rtpmaps %v, want %v", gotMaps, rtpmaps)
		}
		w := want
		if w == "" {
			w = sdp.SendRecv
		}
		wantDir := offer.Direction.Reverse().Intersect(w)
		if len(dirs) != 1 || dirs[0] != string(wantDir) {
			t.Errorf("direction %v, want %q (offer %q reversed, intersected with %q)", dirs, wantDir, offer.Direction, want)
		}
		if _, ok := md.Attribute("ptime"); !ok {
			t.Error("no a=ptime")
		}
	}

	// The remote, reading our answer to its offer, finds what it offered.
	remote := []sdp.Codec{offer.Codec}
	got, err := sdp.ParseAnswer(b, remote)
	if err != nil {
		t.Fatalf("ParseAnswer of our answer: %v", err)
	}
	if got.Codec != offer.Codec && !(got.Codec.SameFormat(offer.Codec) && got.Codec.PT == offer.Codec.PT) {
		t.Errorf("answer read back has codec %+v, want %+v", got.Codec, offer.Codec)
	}
	if got.Addr != netip.AddrPortFrom(ip, local.Addr.Port()) || got.Stream != offer.Stream {
		t.Errorf("answer read back: %v stream %d", got.Addr, got.Stream)
	}
}

func TestAnswerDirection(t *testing.T) {
	for _, c := range []struct {
		offer, want, answer sdp.Direction
	}{
		{sdp.SendRecv, sdp.SendRecv, sdp.SendRecv},
		{sdp.SendRecv, "", sdp.SendRecv},
		{sdp.SendOnly, sdp.SendRecv, sdp.RecvOnly},
		{sdp.RecvOnly, sdp.SendRecv, sdp.SendOnly},
		{sdp.Inactive, sdp.SendRecv, sdp.Inactive},
		{sdp.SendRecv, sdp.SendOnly, sdp.SendOnly},
		{sdp.SendRecv, sdp.RecvOnly, sdp.RecvOnly},
		{sdp.SendRecv, sdp.Inactive, sdp.Inactive},
		{sdp.SendOnly, sdp.SendOnly, sdp.Inactive},
		{sdp.SendOnly, sdp.RecvOnly, sdp.RecvOnly},
		{sdp.RecvOnly, sdp.SendOnly, sdp.SendOnly},
		{sdp.RecvOnly, sdp.RecvOnly, sdp.Inactive},
		{sdp.Inactive, sdp.Inactive, sdp.Inactive},
	} {
		offer, err := sdp.ParseOffer([]byte(sippDefaultOffer+"a="+string(c.offer)+"\n"), g711)
		if err != nil {
			t.Fatal(err)
		}
		b, err := sdp.Answer(ourLocal, offer, c.want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sdp.ParseAnswer(b, g711)
		if err != nil {
			t.Fatal(err)
		}
		if got.Direction != c.answer {
			t.Errorf("offer %q, want %q: answer %q, want %q", c.offer, c.want, got.Direction, c.answer)
		}
	}
}

func TestAnswerTelephoneEvents(t *testing.T) {
	for _, c := range []struct {
		offered string // a=fmtp value, "" for none
		want    string // a=fmtp:101 value in the answer, "" for no DTMF
	}{
		{"", "0-15"},
		{"0-15", "0-15"},
		{"0-16", "0-16"},
		{"0-11", "0-11"},
		{"0-15,66,70", "0-15"},
		{"0-16,32-49", "0-16"},
		{" 0 - 9 , 11 ", "0-9,11"},
		{"16", "16"},
		{"32-49", ""},
		{"x", ""},
	} {
		body := edit(t, sippOffer, "a=fmtp:101 0-15\n", "")
		if c.offered != "" {
			body = edit(t, body, "a=ptime", "a=fmtp:101 "+c.offered+"\na=ptime")
		}
		offer, err := sdp.ParseOffer([]byte(body), g711)
		if err != nil {
			t.Fatal(err)
		}
		b, err := sdp.Answer(ourLocal, offer, sdp.SendRecv)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for l := range strings.SplitSeq(string(b), "\r\n") {
			if v, ok := strings.CutPrefix(l, "a=fmtp:101 "); ok {
				got = v
			}
		}
		if got != c.want {
			t.Errorf("offered %q: answered %q, want %q\n%s", c.offered, got, c.want, b)
		}
		if (offer.DTMF != nil) != (c.want != "") || !strings.Contains(string(b), "telephone-event") == (c.want != "") {
			t.Errorf("offered %q: DTMF %+v\n%s", c.offered, offer.DTMF, b)
		}
	}
}

func TestAnswerLocal(t *testing.T) {
	offer, err := sdp.ParseOffer([]byte(baresipOffer), []sdp.Codec{g729, sdp.PCMA})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		local  sdp.Local
		has    []string
		hasNot []string
	}{
		{"defaults", ourLocal,
			[]string{"o=switchboard 42 1 IN IP4 10.0.0.1\r\n", "c=IN IP4 10.0.0.1\r\n", "m=audio 20000 RTP/AVP 8 102\r\n", "a=ptime:20\r\n"},
			[]string{"a=rtcp", "a=fmtp:8"}},
		{"username, ptime, mux", sdp.Local{Addr: ap("10.0.0.1:20000"), Username: "-", Ptime: 40, RTCPMux: true},
			[]string{"o=- 0 0 IN IP4 10.0.0.1\r\n", "a=ptime:40\r\n", "a=rtcp-mux\r\n"}, nil},
		{"ptime clamped", sdp.Local{Addr: ap("10.0.0.1:20000"), Ptime: 500},
			[]string{"a=ptime:60\r\n"}, nil},
		{"RTCP at port+1 is not announced", sdp.Local{Addr: ap("10.0.0.1:20000"), RTCP: ap("10.0.0.1:20001")},
			nil, []string{"a=rtcp:"}},
		{"RTCP on another port", sdp.Local{Addr: ap("10.0.0.1:20000"), RTCP: ap("10.0.0.1:30001")},
			[]string{"a=rtcp:30001\r\n"}, nil},
		{"RTCP on another address", sdp.Local{Addr: ap("10.0.0.1:20000"), RTCP: ap("[2001:db8::2]:20001")},
			[]string{"a=rtcp:20001 IN IP6 2001:db8::2\r\n"}, nil},
		{"IPv4-mapped local address is written as IPv4", sdp.Local{Addr: ap("[::ffff:10.0.0.1]:20000")},
			[]string{"c=IN IP4 10.0.0.1\r\n"}, nil},
		{"IPv6", sdp.Local{Addr: ap("[2001:db8::1]:20000")},
			[]string{"o=switchboard 0 0 IN IP6 2001:db8::1\r\n", "c=IN IP6 2001:db8::1\r\n"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := sdp.Answer(c.local, offer, sdp.SendRecv)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range c.has {
				if !strings.Contains(string(b), s) {
					t.Errorf("no %q in\n%s", s, b)
				}
			}
			for _, s := range c.hasNot {
				if strings.Contains(string(b), s) {
					t.Errorf("%q in\n%s", s, b)
				}
			}
			checkAnswer(t, b, offer, c.local, sdp.SendRecv)
		})
	}
}

func TestAnswerFmtp(t *testing.T) {
	g729Offer := edit(t, sippOffer, "RTP/AVP 0 101\na=rtpmap:0 PCMU/8000", "RTP/AVP 18 101\na=rtpmap:18 G729/8000\na=fmtp:18 annexb=yes")
	for _, c := range []struct {
		name      string
		supported sdp.Codec
		want      string
	}{
		{"ours when we have one", g729, "a=fmtp:18 annexb=no\r\n"},
		{"else the remote's", sdp.Codec{PT: 18, Name: "g729", Rate: 8000}, "a=fmtp:18 annexb=yes\r\n"},
	} {
		offer, err := sdp.ParseOffer([]byte(g729Offer), []sdp.Codec{c.supported})
		if err != nil {
			t.Fatal(err)
		}
		if offer.Codec.Fmtp != "annexb=yes" {
			t.Errorf("%s: Codec.Fmtp = %q, want the remote's", c.name, offer.Codec.Fmtp)
		}
		b, err := sdp.Answer(ourLocal, offer, sdp.SendRecv)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), c.want) {
			t.Errorf("%s: no %q in\n%s", c.name, c.want, b)
		}
	}
}

func TestAnswerErrors(t *testing.T) {
	offer, err := sdp.ParseOffer([]byte(sippOffer), g711)
	if err != nil {
		t.Fatal(err)
	}
	video := *offer
	video.Media = []sdp.Media{{Type: "video", Port: 5000, Proto: "RTP/AVP", Formats: []string{"96"}}}
	badCodec := *offer
	badCodec.Codec.Name = "PC MU"
	savp := *offer
	savp.Media = []sdp.Media{{Type: "audio", Port: 5000, Proto: "RTP/SAVP", Formats: []string{"0"}}}
	for _, c := range []struct {
		name  string
		local sdp.Local
		offer *sdp.Session
		want  sdp.Direction
	}{
		{"nil offer", ourLocal, nil, sdp.SendRecv},
		{"zero offer", ourLocal, &sdp.Session{}, sdp.SendRecv},
		{"chosen stream is not audio", ourLocal, &video, sdp.SendRecv},
		{"codec cannot be written", ourLocal, &badCodec, sdp.SendRecv},
		{"chosen stream is not RTP/AVP", ourLocal, &savp, sdp.SendRecv},
		{"unknown direction", ourLocal, offer, "sideways"},
		{"no local address", sdp.Local{}, offer, sdp.SendRecv},
		{"local port 0", sdp.Local{Addr: ap("10.0.0.1:0")}, offer, sdp.SendRecv},
		{"local 0.0.0.0", sdp.Local{Addr: ap("0.0.0.0:20000")}, offer, sdp.SendRecv},
		{"local multicast", sdp.Local{Addr: ap("239.1.1.1:20000")}, offer, sdp.SendRecv},
		{"username with blank", sdp.Local{Addr: ap("10.0.0.1:20000"), Username: "a b"}, offer, sdp.SendRecv},
		{"session id above 2^63-1", sdp.Local{Addr: ap("10.0.0.1:20000"), SessionID: math.MaxInt64 + 1}, offer, sdp.SendRecv},
		{"version above 2^63-1", sdp.Local{Addr: ap("10.0.0.1:20000"), Version: math.MaxUint64}, offer, sdp.SendRecv},
		{"negative ptime", sdp.Local{Addr: ap("10.0.0.1:20000"), Ptime: -1}, offer, sdp.SendRecv},
		{"RTCP port 0", sdp.Local{Addr: ap("10.0.0.1:20000"), RTCP: ap("10.0.0.1:0")}, offer, sdp.SendRecv},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := sdp.Answer(c.local, c.offer, c.want)
			if !errors.Is(err, sdp.ErrBadArgument) || b != nil {
				t.Errorf("Answer = %q, %v; want ErrBadArgument", b, err)
			}
		})
	}
}

// TestConcurrent runs parsers and builders in parallel so that -race can
// check they share no state (pion/sdp pools its lexer caches).
func TestConcurrent(t *testing.T) {
	for i, body := range realOffers {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			for range 50 {
				s, err := sdp.ParseOffer([]byte(crlf(body)), g711)
				if err != nil {
					continue
				}
				b, err := sdp.Answer(ourLocal, s, sdp.SendRecv)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := sdp.ParseAnswer(b, g711); err != nil {
					t.Error(err)
					return
				}
				_ = sdp.Offer(ourLocal, g711, true, sdp.SendOnly)
			}
		})
	}
}
