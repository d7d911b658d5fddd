package codec

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/hraban/opus.v2"
)

// opusSeeds adds the golden stream's packets and hand-made packets of
// every framing code (RFC 6716 §3.2) to f's corpus; testdata/fuzz holds
// what fuzzing found besides.
func opusSeeds(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", goldenPackets))
	if err != nil {
		f.Fatal(err)
	}
	for len(b) >= 2 {
		n := min(int(binary.BigEndian.Uint16(b)), len(b)-2)
		f.Add(byte(0), b[2:2+n])
		f.Add(byte(2), b[2:2+n])
		b = b[2+n:]
	}
	for _, p := range [][]byte{
		{0xf8},                               // CELT FB 20 ms, empty frame
		{0xf9, 1, 2},                         // code 1
		{0x7a, 2, 0xaa, 0xbb, 0xcc},          // code 2 hybrid
		{0x0b, 0x03, 0x10, 0x20, 0x30},       // code 3 CBR, 3 × 10 ms SILK
		{0x0b, 0x83, 1, 1, 0x10, 0x20, 0x30}, // code 3 VBR
		{0x0b, 0x41, 255, 0},                 // code 3 padding chain
		{0x1b, 0x02, 0, 0},                   // 2 × 60 ms = 120 ms
		{0x03},                               // code 3 with no count byte
	} {
		f.Add(byte(1), p)
	}
}

// FuzzOpusDecode feeds arbitrary payloads to an OpusDecoder (Decode, and
// DecodeFEC and Conceal after it): no panic, only the package's errors,
// never more samples than the buffer. It also checks that the packet
// check in front of libopus agrees with libopus: every packet libopus
// decodes is accepted with the same duration, and every packet it
// rejects as invalid is rejected.
func FuzzOpusDecode(f *testing.F) {
	opusSeeds(f)
	rates := []int{8000, 16000, 48000}
	f.Fuzz(func(t *testing.T, sel byte, payload []byte) {
		rate := rates[int(sel)%len(rates)]
		d := mustOpusDecoder(t, rate)
		pcm := make([]int16, MaxPacketSamples(rate))
		n, err := d.Decode(payload, pcm)
		checkDecodeError(t, err)

		raw, rawErr := opus.NewDecoder(rate, 1)
		if rawErr != nil {
			t.Fatal(rawErr)
		}
		if len(payload) > 0 {
			m, rawErr := raw.Decode(payload, pcm)
			switch {
			case rawErr == nil && (err != nil || n != m):
				t.Fatalf("libopus decodes %d samples, Decode = %d, %v", m, n, err)
			case errors.Is(rawErr, opus.ErrInvalidPacket) && err == nil:
				t.Fatalf("libopus rejects the packet (%v), Decode accepted it", rawErr)
			case rawErr != nil && !errors.Is(rawErr, opus.ErrInvalidPacket):
				t.Fatalf("libopus: %v", rawErr)
			}
		}

		if n, err := d.DecodeFEC(payload, pcm); err == nil && n > len(pcm) {
			t.Fatalf("DecodeFEC wrote %d samples", n)
		} else {
			checkDecodeError(t, err)
		}
		if _, err := d.Conceal(pcm); err != nil {
			t.Fatalf("Conceal: %v", err)
		}
		// A short buffer must be refused, not overrun.
		if n > 1 {
			if _, err := d.Decode(payload, pcm[:n-1]); !errors.Is(err, ErrShortBuffer) {
				t.Fatalf("Decode into %d of %d samples: %v", n-1, n, err)
			}
		}
	})
}

// checkDecodeError fails on an error that is not one of the package's
// input errors.
func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, ErrInvalidPacket) && !errors.Is(err, ErrEmptyPayload) {
		t.Fatalf("undocumented error: %v", err)
	}
}

// FuzzG711Decode feeds arbitrary payloads of any length to both G.711
// decoders, losing packets as the loss pattern says (bit i set: packet i
// lost): no panic, a sample count equal to the payload length (or a size
// error), and concealment of the last packet's length.
func FuzzG711Decode(f *testing.F) {
	f.Add(false, uint16(0), make([]byte, 160))
	f.Add(true, uint16(0x5555), []byte{0x00, 0x7f, 0x80, 0xff})
	f.Add(false, uint16(0xffff), make([]byte, MaxG711Frame+1))
	f.Add(true, uint16(0x0f0f), []byte{})
	f.Fuzz(func(t *testing.T, alaw bool, loss uint16, payload []byte) {
		d := NewPCMUDecoder()
		if alaw {
			d = NewPCMADecoder()
		}
		pcm := make([]int16, MaxG711Frame)
		last := 160
		for i := range 16 {
			if loss&(1<<i) != 0 {
				n, err := d.Conceal(pcm)
				if err != nil || n != last {
					t.Fatalf("Conceal = %d, %v; want %d", n, err, last)
				}
				continue
			}
			n, err := d.Decode(payload, pcm)
			switch {
			case len(payload) == 0:
				if !errors.Is(err, ErrEmptyPayload) {
					t.Fatalf("empty payload: %v", err)
				}
			case len(payload) > MaxG711Frame:
				if !errors.Is(err, ErrFrameSize) {
					t.Fatalf("%d-byte payload: %v", len(payload), err)
				}
			default:
				if err != nil || n != len(payload) {
					t.Fatalf("Decode = %d, %v; want %d", n, err, len(payload))
				}
				last = n
			}
		}
	})
}
