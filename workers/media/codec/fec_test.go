package codec

import (
	"errors"
	"fmt"
	"testing"
)

// TestOpusFEC encodes speech with in-band FEC on (10 % expected loss),
// loses every tenth packet, and rebuilds each from the next packet with
// DecodeFEC. On average the rebuilt packets must correlate with what the
// lost packets would have decoded to by more than 0.8, and by at least
// 0.2 more than libopus's PLC (Conceal) manages: that is the point of
// sending FEC. Single packets can fall short: SILK only adds redundancy
// to frames its voice-activity detector rates as speech, and decides
// that per frame (a steady synthetic vowel, which the detector soon takes
// for background noise, gets almost none).
func TestOpusFEC(t *testing.T) {
	for _, rate := range []int{8000, 16000, 48000} {
		for _, s := range []signal{signals[2], signals[3]} {
			t.Run(fmt.Sprintf("%dHz/%s", rate, s.name), func(t *testing.T) {
				frame := rate / 50
				sig := s.make(t, rate)
				cfg := DefaultOpusConfig(rate)
				cfg.PacketLossPerc = 10
				enc, err := NewOpusEncoder(rate, cfg)
				if err != nil {
					t.Fatal(err)
				}
				var packets [][]byte
				buf := make([]byte, MaxPayload)
				for i := 0; (i+1)*frame <= len(sig); i++ {
					n, err := enc.Encode(sig[i*frame:(i+1)*frame], buf)
					if err != nil {
						t.Fatal(err)
					}
					packets = append(packets, append([]byte(nil), buf[:n]...))
				}
				// clean decodes everything; fec and plc lose every 10th packet
				// from the 5th on.
				clean, fec, plc := mustOpusDecoder(t, rate), mustOpusDecoder(t, rate), mustOpusDecoder(t, rate)
				pcm := make([]int16, frame)
				want := make([]int16, frame)
				var sumFEC, sumPLC float64
				count := 0
				for i, p := range packets {
					if _, err := clean.Decode(p, want); err != nil {
						t.Fatal(err)
					}
					if i%10 != 5 || i+1 == len(packets) || energyDB(want) < -50 {
						for _, d := range []*OpusDecoder{fec, plc} {
							if _, err := d.Decode(p, pcm); err != nil {
								t.Fatal(err)
							}
						}
						continue
					}
					n, err := fec.DecodeFEC(packets[i+1], pcm)
					if err != nil || n != frame {
						t.Fatalf("DecodeFEC = %d, %v", n, err)
					}
					cf := correlation(want, pcm)
					if _, err := plc.Conceal(pcm); err != nil {
						t.Fatal(err)
					}
					cp := correlation(want, pcm)
					t.Logf("packet %d: FEC %.3f, PLC %.3f", i, cf, cp)
					sumFEC += cf
					sumPLC += cp
					count++
				}
				if count == 0 {
					t.Fatal("no packet lost")
				}
				t.Logf("mean correlation with the lost packet: FEC %.3f, PLC %.3f (%d losses)",
					sumFEC/float64(count), sumPLC/float64(count), count)
				if mean := sumFEC / float64(count); mean <= 0.8 {
					t.Errorf("mean FEC correlation %.3f, want > 0.8", mean)
				}
				if sumFEC-sumPLC <= 0.2*float64(count) {
					t.Error("FEC does not do clearly better than PLC")
				}
			})
		}
	}
}

// TestOpusFECWithoutFEC checks that DecodeFEC conceals when the next
// packet carries no redundancy (FEC off), rather than failing.
func TestOpusFECWithoutFEC(t *testing.T) {
	cfg := DefaultOpusConfig(8000)
	cfg.FEC = false
	enc, err := NewOpusEncoder(8000, cfg)
	if err != nil {
		t.Fatal(err)
	}
	dec := mustOpusDecoder(t, 8000)
	sig := voiced(1600, 8000)
	buf := make([]byte, MaxPayload)
	pcm := make([]int16, 160)
	for i := range 9 {
		n, _ := enc.Encode(sig[i*160:(i+1)*160], buf)
		if i == 8 {
			if n, err := dec.DecodeFEC(buf[:n], pcm); err != nil || n != 160 {
				t.Fatalf("DecodeFEC = %d, %v", n, err)
			}
			if energyDB(pcm) < -40 {
				t.Error("DecodeFEC without FEC is silent; it should conceal")
			}
			break
		}
		if _, err := dec.Decode(buf[:n], pcm); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOpusDecodeErrors checks the decoder's input validation.
func TestOpusDecodeErrors(t *testing.T) {
	dec := mustOpusDecoder(t, 8000)
	enc, err := NewOpusEncoder(8000, DefaultOpusConfig(8000))
	if err != nil {
		t.Fatal(err)
	}
	good := make([]byte, MaxPayload)
	n, err := enc.Encode(tone(160, 440, 8000, 8000), good)
	if err != nil {
		t.Fatal(err)
	}
	good = good[:n]
	tests := []struct {
		name    string
		payload []byte
		pcm     int
		want    error
	}{
		{"empty", nil, 960, ErrEmptyPayload},
		{"short pcm", good, 159, ErrShortBuffer},
		{"code 1 odd", []byte{0x01, 1, 2, 3}, 960, ErrInvalidPacket},
		{"code 3 no count", []byte{0x03}, 960, ErrInvalidPacket},
		{"code 3 zero frames", []byte{0x03, 0x00}, 960, ErrInvalidPacket},
		{"code 3 over 120 ms", []byte{0x1b, 0x03, 0, 0, 0}, 960, ErrInvalidPacket}, // 3 × 60 ms
		{"code 2 length past end", []byte{0x02, 200, 1, 2}, 960, ErrInvalidPacket},
		{"frame over 1275 bytes", make([]byte, 1277), 960, ErrInvalidPacket},
		{"good", good, 160, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pcm := make([]int16, tt.pcm)
			_, err := dec.Decode(tt.payload, pcm)
			if !errors.Is(err, tt.want) {
				t.Errorf("Decode = %v, want %v", err, tt.want)
			}
			if tt.payload != nil {
				_, err = dec.DecodeFEC(tt.payload, pcm)
				if !errors.Is(err, tt.want) {
					t.Errorf("DecodeFEC = %v, want %v", err, tt.want)
				}
			}
		})
	}
}

func mustOpusDecoder(t testing.TB, rate int) *OpusDecoder {
	t.Helper()
	d, err := NewOpusDecoder(rate)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
