package webrtcpeer

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-voip/switchboard/test/leak"
)

// chromeOffer is the shape of Chromium's audio-only offer (trimmed of
// header extensions), with one loopback candidate.
const chromeOffer = "v=0\r\n" +
	"o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n" +
	"s=-\r\n" +
	"t=0 0\r\n" +
	"a=group:BUNDLE 0\r\n" +
	"a=extmap-allow-mixed\r\n" +
	"a=msid-semantic: WMS\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=rtcp:9 IN IP4 0.0.0.0\r\n" +
	"a=candidate:1 1 udp 2113937151 127.0.0.1 50000 typ host generation 0\r\n" +
	"a=ice-ufrag:abcd\r\n" +
	"a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
	"a=ice-options:trickle\r\n" +
	"a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\n" +
	"a=setup:actpass\r\n" +
	"a=mid:0\r\n" +
	"a=sendrecv\r\n" +
	"a=msid:- 0d2e1b1c-1111-2222-3333-444455556666\r\n" +
	"a=rtcp-mux\r\n" +
	"a=rtpmap:111 opus/48000/2\r\n" +
	"a=rtcp-fb:111 transport-cc\r\n" +
	"a=fmtp:111 minptime=10;useinbandfec=1\r\n" +
	"a=rtpmap:63 red/48000/2\r\n" +
	"a=fmtp:63 111/111\r\n" +
	"a=rtpmap:9 G722/8000\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:13 CN/8000\r\n" +
	"a=rtpmap:110 telephone-event/48000\r\n" +
	"a=rtpmap:126 telephone-event/8000\r\n" +
	"a=ssrc:1234567 cname:abcdefgh\r\n"

// withCodecs replaces the m-line's formats of chromeOffer.
func withCodecs(formats string) string {
	return strings.Replace(chromeOffer, "SAVPF 111 63 9 0 8 13 110 126", "SAVPF "+formats, 1)
}

// TestBadOffers checks that what cannot be answered is refused with the
// error the edge turns into 400 or 488, and a reason.
func TestBadOffers(t *testing.T) {
	leak.Check(t)
	e := newEngine(t)
	video := strings.Replace(chromeOffer, "m=audio 9", "m=video 9", 1)
	sipOffer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"
	tests := []struct {
		name, offer string
		want        error
		reason      string
	}{
		{"empty", "", ErrBadOffer, "empty"},
		{"garbage", "hello, world", ErrBadOffer, ""},
		{"binary", "\x00\x01\x02\xff\xfe", ErrBadOffer, ""},
		{"truncated", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n", ErrBadOffer, "t= line"},
		{"too large", chromeOffer + strings.Repeat("a=x-pad:"+strings.Repeat("x", 100)+"\r\n", 700), ErrBadOffer, "bytes"},
		{"no media", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", ErrNotAcceptable, "no media"},
		{"video only", video, ErrNotAcceptable, "no audio stream (offered: video)"},
		{"rejected audio", strings.Replace(chromeOffer, "m=audio 9", "m=audio 0", 1), ErrNotAcceptable, "no audio"},
		{"G722 only", withCodecs("9 110"), ErrNotAcceptable, "offered G722/8000, telephone-event/48000"},
		{"telephone-event only", withCodecs("110 126"), ErrNotAcceptable, "no audio codec in common"},
		{"opus mono at 8k", strings.Replace(withCodecs("111"), "opus/48000/2", "opus/8000/1", 1), ErrNotAcceptable, "opus/8000"},
		{"plain RTP (a SIP offer)", sipOffer, ErrNotAcceptable, "RTP/AVP"},
		{"no fingerprint", strings.Replace(chromeOffer, "a=fingerprint:", "a=x-fingerprint:", 1), ErrBadOffer, "fingerprint"},
		{"no ice-pwd", strings.Replace(chromeOffer, "a=ice-pwd:", "a=x-ice-pwd:", 1), ErrBadOffer, "ice-pwd"},
		{"bad fingerprint hash", strings.Replace(chromeOffer, "sha-256 7B:8B", "sha-999 7B:8B", 1), ErrBadOffer, "sha-999"},
		{"short fingerprint", strings.Replace(chromeOffer, "sha-256 7B:8B:", "sha-256 ", 1), ErrBadOffer, "octets"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			leg := e.NewLeg(LegConfig{})
			defer leg.Close()
			answer, err := leg.Answer(context.Background(), []byte(tc.offer))
			if !errors.Is(err, tc.want) || answer != nil {
				t.Fatalf("got %v (answer %d bytes), want %v", err, len(answer), tc.want)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("reason %q does not say %q", err, tc.reason)
			}
			t.Logf("%v", err)
		})
	}
}

// TestCodecChoice checks that the answer carries exactly one audio codec,
// the offer's first supported one, and telephone-event at its clock rate.
func TestCodecChoice(t *testing.T) {
	leak.Check(t)
	tests := []struct {
		name, formats string
		codecs        []string
		wantAudio     string
		wantPT        uint8
		wantTE        uint32 // 0: none
	}{
		{"chrome", "111 63 9 0 8 13 110 126", nil, "opus", 111, 48000},
		{"PCMA first", "8 0 111 126 110", nil, "PCMA", 8, 8000},
		{"G722 skipped", "9 0 126", nil, "PCMU", 0, 8000},
		{"opus with 8 kHz events only", "111 126", nil, "opus", 111, 8000},
		{"no events", "111 0", nil, "opus", 111, 0},
		{"engine without opus", "111 0 8 110 126", []string{"PCMA", "PCMU"}, "PCMU", 0, 8000},
		{"static PT without rtpmap", "8", nil, "PCMA", 8, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, tc.codecs...)
			leg := e.NewLeg(LegConfig{})
			defer leg.Close()
			offer := withCodecs(tc.formats)
			if tc.name == "static PT without rtpmap" {
				offer = strings.Replace(offer, "a=rtpmap:8 PCMA/8000\r\n", "", 1)
			}
			answer, err := leg.Answer(context.Background(), []byte(offer))
			if err != nil {
				t.Fatal(err)
			}
			neg := leg.Negotiated()
			if neg.Audio.Name != tc.wantAudio || neg.Audio.PayloadType != tc.wantPT {
				t.Errorf("audio %+v, want %s/%d", neg.Audio, tc.wantAudio, tc.wantPT)
			}
			switch {
			case tc.wantTE == 0 && neg.TelephoneEvent != nil:
				t.Errorf("telephone-event %+v, want none", neg.TelephoneEvent)
			case tc.wantTE != 0 && (neg.TelephoneEvent == nil || neg.TelephoneEvent.ClockRate != tc.wantTE):
				t.Errorf("telephone-event %+v, want /%d", neg.TelephoneEvent, tc.wantTE)
			}
			mline := ""
			for _, line := range strings.Split(string(answer), "\r\n") {
				if strings.HasPrefix(line, "m=audio") {
					mline = line
				}
			}
			want := "m=audio 9 UDP/TLS/RTP/SAVPF " + itoa(tc.wantPT)
			if neg.TelephoneEvent != nil {
				want += " " + itoa(neg.TelephoneEvent.PayloadType)
			}
			if mline != want {
				t.Errorf("answer m-line %q, want %q", mline, want)
			}
			if !strings.Contains(string(answer), "a=candidate:") || !strings.Contains(string(answer), "127.0.0.1") {
				t.Errorf("answer without a loopback candidate:\n%s", answer)
			}
		})
	}
}

func itoa(n uint8) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{'0' + n%10}, b...)
	}
	return string(b)
}

// TestAnswerIsLoopbackOnly checks the engine's network restriction: the
// answer names 127.0.0.1 and no other address.
func TestAnswerIsLoopbackOnly(t *testing.T) {
	leak.Check(t)
	e := newEngine(t)
	leg := e.NewLeg(LegConfig{})
	defer leg.Close()
	answer, err := leg.Answer(context.Background(), []byte(chromeOffer))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(answer), "\r\n") {
		if strings.HasPrefix(line, "a=candidate:") && !strings.Contains(line, " 127.0.0.1 ") {
			t.Errorf("non-loopback candidate %q", line)
		}
	}
}
