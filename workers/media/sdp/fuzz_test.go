package sdp_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/switchboard-voip/switchboard/workers/media/sdp"
)

// fuzzSupported is what the fuzzed media worker supports.
var fuzzSupported = []sdp.Codec{sdp.PCMU, sdp.PCMA, opus}

// seed adds the real descriptions and the golden files to f's corpus;
// testdata/fuzz/<name> holds the inputs found by fuzzing.
func seed(f *testing.F) {
	for _, s := range append(slices.Clone(realOffers), sippUASAnswer) {
		f.Add([]byte(crlf(s)))
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.sdp"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkError fails unless err is one of the documented sentinels.
func checkError(t *testing.T, s *sdp.Session, err error) {
	t.Helper()
	if s != nil {
		t.Fatalf("session %+v with error %v", s, err)
	}
	if !errors.Is(err, sdp.ErrMalformed) && !errors.Is(err, sdp.ErrNoAudio) && !errors.Is(err, sdp.ErrNoCommonCodec) {
		t.Fatalf("undocumented error %v", err)
	}
}

// checkInvariants holds for every Session either parser returns.
func checkInvariants(t *testing.T, s *sdp.Session, codecs []sdp.Codec) {
	t.Helper()
	if !s.Addr.IsValid() || s.Addr.Port() == 0 {
		t.Fatalf("Addr %v", s.Addr)
	}
	if s.Ptime < sdp.MinPtime || s.Ptime > sdp.MaxPtime || !s.Direction.Valid() {
		t.Fatalf("Ptime %d Direction %q", s.Ptime, s.Direction)
	}
	if s.Stream < 0 || s.Stream >= len(s.Media) || s.Media[s.Stream].Type != "audio" || s.Media[s.Stream].Proto != "RTP/AVP" ||
		s.Media[s.Stream].Port != int(s.Addr.Port()) {
		t.Fatalf("Stream %d of %+v", s.Stream, s.Media)
	}
	if !slices.ContainsFunc(codecs, s.Codec.SameFormat) || s.Codec.IsTelephoneEvent() {
		t.Fatalf("Codec %+v was not offered", s.Codec)
	}
	if s.DTMF != nil && (!s.DTMF.IsTelephoneEvent() || s.DTMF.Rate != s.Codec.Rate && s.DTMF.Rate != 8000) {
		t.Fatalf("DTMF %+v for %+v", s.DTMF, s.Codec)
	}
	if s.RTCPMux && s.RTCPAddr != s.Addr && s.RTCPAddr.Port() == s.Addr.Port() {
		t.Fatalf("RTCP %v for RTP %v", s.RTCPAddr, s.Addr)
	}
}

// FuzzParseOffer checks that ParseOffer never panics and that whatever it
// accepts can be answered, and the answer read back, consistently.
func FuzzParseOffer(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := sdp.ParseOffer(b, fuzzSupported)
		if err != nil {
			checkError(t, s, err)
			return
		}
		checkInvariants(t, s, fuzzSupported)
		answer, err := sdp.Answer(ourLocal, s, sdp.SendRecv)
		if err != nil {
			t.Fatalf("Answer: %v", err)
		}
		back, err := sdp.ParseAnswer(answer, []sdp.Codec{s.Codec})
		if err != nil {
			t.Fatalf("ParseAnswer of our answer: %v\n%s", err, answer)
		}
		if len(back.Media) != len(s.Media) || back.Stream != s.Stream || back.Addr != ourLocal.Addr ||
			back.Codec.PT != s.Codec.PT || !back.Codec.SameFormat(s.Codec) || (back.DTMF != nil) != (s.DTMF != nil) ||
			back.Ptime != s.Ptime || back.Direction != s.Direction.Reverse() {
			t.Fatalf("answer read back as %+v\nfor offer %+v\n%s", back, s, answer)
		}
		for i, m := range back.Media {
			o := s.Media[i]
			if m.Type != o.Type || m.Proto != o.Proto || (i != s.Stream) != (m.Port == 0) {
				t.Fatalf("m-line %d answered %+v for %+v", i, m, o)
			}
		}
	})
}

// FuzzParseAnswer checks that ParseAnswer never panics and only returns
// codecs we offered.
func FuzzParseAnswer(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := sdp.ParseAnswer(b, fuzzSupported)
		if err != nil {
			checkError(t, s, err)
			return
		}
		checkInvariants(t, s, fuzzSupported)
		if s.RTCPMux && s.RTCPAddr != s.Addr {
			t.Fatalf("rtcp-mux answer with RTCP at %v", s.RTCPAddr)
		}
	})
}
