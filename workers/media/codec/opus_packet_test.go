package codec

import (
	"errors"
	"testing"
)

// TestOpusPacketSamples checks the RFC 6716 §3.4 packet rules and
// durations on hand-made packets of every framing code.
func TestOpusPacketSamples(t *testing.T) {
	big := make([]byte, 1+1276)
	big[0] = 0x08
	tests := []struct {
		name string
		p    []byte
		want int // samples at 48 kHz; 0: invalid
	}{
		{"empty", nil, 0},
		{"SILK NB 10 ms", []byte{0x00}, 480},
		{"SILK NB 20 ms", []byte{0x08, 1}, 960},
		{"SILK 40 ms", []byte{0x10, 1}, 1920},
		{"SILK 60 ms", []byte{0x18, 1}, 2880},
		{"hybrid 10 ms", []byte{0x60}, 480},
		{"hybrid 20 ms", []byte{0x68}, 960},
		{"CELT 2.5 ms", []byte{0x80}, 120},
		{"CELT 5 ms", []byte{0x88}, 240},
		{"CELT 20 ms", []byte{0xf8}, 960},
		{"code 0 at 1275", big[:1276], 960},
		{"code 0 over 1275", big, 0},
		{"code 1", []byte{0x09, 1, 2}, 1920},
		{"code 1 empty frames", []byte{0x09}, 1920},
		{"code 1 odd", []byte{0x09, 1}, 0},
		{"code 2", []byte{0x0a, 1, 9, 9, 9}, 1920},
		{"code 2 no length", []byte{0x0a}, 0},
		{"code 2 two-byte length", append([]byte{0x0a, 252, 1}, make([]byte, 256)...), 1920},
		{"code 2 two-byte length cut", []byte{0x0a, 252}, 0},
		{"code 2 length past end", []byte{0x0a, 5, 1, 2}, 0},
		{"code 3 no count", []byte{0x0b}, 0},
		{"code 3 zero count", []byte{0x0b, 0x00}, 0},
		{"code 3 CBR 3 frames", []byte{0x0b, 0x03, 1, 2, 3}, 2880},
		{"code 3 CBR uneven", []byte{0x0b, 0x03, 1, 2}, 0},
		{"code 3 120 ms", []byte{0x1b, 0x02}, 5760},
		{"code 3 over 120 ms", []byte{0x1b, 0x03}, 0},
		{"code 3 48 CELT 2.5 ms", []byte{0x83, 48}, 5760},
		{"code 3 49 CELT 2.5 ms", []byte{0x83, 49}, 0},
		{"code 3 VBR", []byte{0x0b, 0x83, 1, 2, 9, 9, 9, 9}, 2880},
		{"code 3 VBR lengths past end", []byte{0x0b, 0x83, 1, 9, 9}, 0},
		{"code 3 padding", []byte{0x0b, 0x41, 2, 7, 0, 0}, 960},
		{"code 3 padding 255 chain", append([]byte{0x0b, 0x41, 255, 0}, make([]byte, 254)...), 960},
		{"code 3 padding too long", []byte{0x0b, 0x41, 255, 0}, 0},
		{"code 3 padding byte missing", []byte{0x0b, 0x41}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := opusPacketSamples(tt.p, 48000)
			if tt.want == 0 {
				if !errors.Is(err, ErrInvalidPacket) {
					t.Errorf("= %d, %v; want ErrInvalidPacket", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("= %d, %v; want %d", got, err, tt.want)
			}
			if got8, _ := opusPacketSamples(tt.p, 8000); got8 != tt.want/6 {
				t.Errorf("at 8 kHz %d, want %d", got8, tt.want/6)
			}
		})
	}
}
