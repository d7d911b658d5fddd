package codec

import (
	"errors"
	"testing"
)

// TestLookup maps SDP codecs to formats.
func TestLookup(t *testing.T) {
	tests := []struct {
		name     string
		rate     uint32
		channels uint16
		want     *Format
	}{
		{"PCMU", 8000, 1, &PCMU},
		{"pcmu", 8000, 0, &PCMU},
		{"PCMA", 8000, 1, &PCMA},
		{"opus", 48000, 2, &Opus},
		{"OPUS", 48000, 2, &Opus},
		{"opus", 48000, 0, &Opus}, // channel count left out
		{"opus", 16000, 2, nil},   // RFC 7587: always 48000
		{"opus", 8000, 1, nil},
		{"PCMU", 16000, 1, nil},
		{"PCMU", 8000, 2, nil},
		{"G722", 8000, 1, nil},
		{"telephone-event", 8000, 1, nil},
		{"", 0, 0, nil},
	}
	for _, tt := range tests {
		f, err := Lookup(tt.name, tt.rate, tt.channels)
		if tt.want == nil {
			if !errors.Is(err, ErrUnknownCodec) || f != nil {
				t.Errorf("Lookup(%q, %d, %d) = %v, %v; want ErrUnknownCodec", tt.name, tt.rate, tt.channels, f, err)
			}
			continue
		}
		if err != nil || f != tt.want {
			t.Errorf("Lookup(%q, %d, %d) = %v, %v; want %s", tt.name, tt.rate, tt.channels, f, err, tt.want.Name)
		}
	}
}

// TestFormatCodecs builds every format's codecs at every rate it
// supports, refuses the others, and round-trips a frame.
func TestFormatCodecs(t *testing.T) {
	for _, f := range []*Format{&PCMU, &PCMA, &Opus} {
		for _, rate := range []int{8000, 12000, 16000, 24000, 48000} {
			dec, errD := f.NewDecoder(rate)
			enc, errE := f.NewEncoder(rate, DefaultOpusConfig(rate))
			if !f.Supports(rate) {
				if !errors.Is(errD, ErrRate) || !errors.Is(errE, ErrRate) {
					t.Errorf("%s at %d Hz: %v, %v; want ErrRate", f.Name, rate, errD, errE)
				}
				continue
			}
			if errD != nil || errE != nil {
				t.Fatalf("%s at %d Hz: %v, %v", f.Name, rate, errD, errE)
			}
			if dec.SampleRate() != rate || enc.SampleRate() != rate {
				t.Errorf("%s at %d Hz: rates %d, %d", f.Name, rate, dec.SampleRate(), enc.SampleRate())
			}
			payload := make([]byte, MaxPayload)
			n, err := enc.Encode(tone(rate/50, 440, rate, 8000), payload)
			if err != nil {
				t.Fatal(err)
			}
			pcm := make([]int16, MaxPacketSamples(rate))
			if m, err := dec.Decode(payload[:n], pcm); err != nil || m != rate/50 {
				t.Errorf("%s at %d Hz: decoded %d, %v", f.Name, rate, m, err)
			}
		}
	}
	if r := Opus.Rates(); len(r) != 3 || r[0] != 8000 {
		t.Errorf("Opus.Rates() = %v", r)
	}
}

// TestTimestamp checks the RTP timestamp step of a frame (RFC 7587 §4.1:
// Opus counts 48 kHz whatever rate it runs at).
func TestTimestamp(t *testing.T) {
	tests := []struct {
		f       *Format
		samples int
		rate    int
		want    uint32
	}{
		{&PCMU, 160, 8000, 160},
		{&PCMA, 240, 8000, 240},
		{&Opus, 160, 8000, 960},
		{&Opus, 320, 16000, 960},
		{&Opus, 960, 48000, 960},
		{&Opus, 480, 8000, 2880}, // 60 ms
		{&Opus, 80, 8000, 480},   // 10 ms
	}
	for _, tt := range tests {
		if got := tt.f.Timestamp(tt.samples, tt.rate); got != tt.want {
			t.Errorf("%s.Timestamp(%d, %d) = %d, want %d", tt.f.Name, tt.samples, tt.rate, got, tt.want)
		}
		if got := tt.f.Samples(tt.want, tt.rate); got != tt.samples {
			t.Errorf("%s.Samples(%d, %d) = %d, want %d", tt.f.Name, tt.want, tt.rate, got, tt.samples)
		}
	}
}
