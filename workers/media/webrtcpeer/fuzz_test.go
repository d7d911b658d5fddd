package webrtcpeer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzAnswer feeds offers to Answer: it must never panic, and must either
// answer or fail with one of the documented sentinels. An offer that is
// answered builds a real PeerConnection on 127.0.0.1, so this fuzzes
// pion's offer handling too. testdata/fuzz/FuzzAnswer holds the inputs
// found by fuzzing.
func FuzzAnswer(f *testing.F) {
	f.Add([]byte(chromeOffer))
	f.Add([]byte(strings.ReplaceAll(chromeOffer, "\r\n", "\n")))
	f.Add([]byte(withCodecs("0 8 126")))
	f.Add([]byte(withCodecs("9 13")))
	f.Add([]byte(strings.Replace(chromeOffer, "m=audio 9", "m=video 9", 1)))
	f.Add([]byte(chromeOffer + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\n"))
	f.Add([]byte(chromeOffer + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\na=sctp-port:5000\r\n"))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n"))
	f.Add([]byte("hello"))
	f.Add([]byte{})

	e := newEngine(f)
	e.cfg.GatherTimeout = time.Second
	f.Fuzz(func(t *testing.T, offer []byte) {
		leg := e.NewLeg(LegConfig{})
		defer leg.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		answer, err := leg.Answer(ctx, offer)
		if err != nil {
			if answer != nil {
				t.Fatalf("answer with error %v", err)
			}
			if !errors.Is(err, ErrBadOffer) && !errors.Is(err, ErrNotAcceptable) && !errors.Is(err, ErrNoCandidates) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		neg := leg.Negotiated()
		if neg == nil || !strings.Contains(string(answer), "a=fingerprint:") {
			t.Fatalf("answer without negotiation or fingerprint:\n%s", answer)
		}
	})
}
