package frame_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"slices"
	"testing"

	"github.com/switchboard-voip/switchboard/workers/conference/frame"
)

// example is the frame docs/conference-mixer.md shows in hex: 4 samples
// (a short frame, to fit on a line) of PCM at 16 kHz.
var example = frame.Frame{
	Codec: frame.PCM, Flags: frame.Talking, Level: -18, Rate: 16000, Samples: 4,
	Seq: 258, Timestamp: 82560, PCM: []int16{0, 1000, -1000, 32767},
}

const exampleHex = "01000412" + "3e800004" + "00000102" + "0000000000014280" + "0000e80318fcff7f"

// TestExample pins the byte layout that the docs show.
func TestExample(t *testing.T) {
	b, err := example.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(b); got != exampleHex {
		t.Errorf("got  %s\nwant %s", got, exampleHex)
	}
}

// TestRoundTrip: every codec's frame comes back as it went.
func TestRoundTrip(t *testing.T) {
	for _, f := range []frame.Frame{
		example,
		{Codec: frame.PCM, Rate: 48000, Samples: 960, Level: -127, Flags: frame.Silence | frame.Muted, PCM: make([]int16, 960)},
		{Codec: frame.PCMU, Rate: 8000, Samples: 160, Level: -30, Seq: 1<<32 - 1, Timestamp: 1 << 40, Payload: bytes.Repeat([]byte{0xff}, 160)},
		{Codec: frame.PCMA, Rate: 8000, Samples: 80, Flags: frame.Discontinuity, Payload: bytes.Repeat([]byte{0xd5}, 80)},
		{Codec: frame.Opus, Rate: 48000, Samples: 960, Level: 0, Payload: []byte{0x78, 1, 2, 3}},
		{Codec: frame.Opus, Rate: 8000, Samples: 20, Payload: make([]byte, frame.MaxPayload)}, // 2.5 ms
	} {
		b, err := f.MarshalBinary()
		if err != nil {
			t.Fatalf("%s: %v", f.Codec, err)
		}
		if len(b) != f.Size() {
			t.Errorf("%s: %d bytes, Size %d", f.Codec, len(b), f.Size())
		}
		got := frame.Frame{PCM: make([]int16, 0, 960)}
		if err := frame.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", f.Codec, err)
		}
		if f.Codec != frame.PCM {
			got.PCM = nil
		} else {
			got.Payload = nil
		}
		if got.Codec != f.Codec || got.Flags != f.Flags || got.Level != f.Level || got.Rate != f.Rate ||
			got.Samples != f.Samples || got.Seq != f.Seq || got.Timestamp != f.Timestamp ||
			!slices.Equal(got.PCM, f.PCM) || !bytes.Equal(got.Payload, f.Payload) {
			t.Errorf("%s: got %+v, want %+v", f.Codec, got, f)
		}
	}
}

// TestInvalid: each kind of bad message is refused with its own error,
// and Marshal refuses the same frames.
func TestInvalid(t *testing.T) {
	good, _ := example.MarshalBinary()
	edit := func(at int, v ...byte) []byte {
		b := slices.Clone(good)
		copy(b[at:], v)
		return b
	}
	for _, c := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, frame.ErrShort},
		{"19 bytes", good[:19], frame.ErrShort},
		{"version 0", edit(0, 0), frame.ErrVersion},
		{"version 2", edit(0, 2), frame.ErrVersion},
		{"codec 4", edit(1, 4), frame.ErrCodec},
		{"flag bit 7", edit(2, 0x80), frame.ErrFlags},
		{"level 128", edit(3, 128), frame.ErrLevel},
		{"rate 44100", edit(4, 0xac, 0x44), frame.ErrRate},
		{"rate 0", edit(4, 0, 0), frame.ErrRate},
		{"PCMU at 16 kHz", edit(1, 1), frame.ErrRate},
		{"0 samples", edit(6, 0, 0), frame.ErrSamples},
		{"121 ms", edit(6, 0x07, 0x90), frame.ErrSamples},
		{"odd PCM payload", good[:len(good)-1], frame.ErrSize},
		{"PCM payload too long", append(slices.Clone(good), 0, 0), frame.ErrSize},
		{"PCM samples 5 for 4", edit(6, 0, 5), frame.ErrSize},
		{"Opus 3 ms", edit(1, 3, 4, 0x12, 0x3e, 0x80, 0, 48), frame.ErrSamples},
		{"Opus empty", edit(1, 3, 4, 0x12, 0x3e, 0x80, 0x01, 0x40)[:20], frame.ErrSize},
	} {
		f := frame.Frame{PCM: make([]int16, 0, 16)}
		if err := frame.Unmarshal(c.data, &f); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	small := frame.Frame{PCM: make([]int16, 0, 3)}
	if err := frame.Unmarshal(good, &small); !errors.Is(err, frame.ErrShortBuffer) {
		t.Errorf("short PCM buffer: %v", err)
	}

	for _, c := range []struct {
		name string
		f    frame.Frame
		want error
	}{
		{"level +1", frame.Frame{Rate: 8000, Samples: 1, PCM: []int16{0}, Level: 1}, frame.ErrLevel},
		{"PCM length", frame.Frame{Rate: 8000, Samples: 2, PCM: []int16{0}}, frame.ErrSize},
		{"rate", frame.Frame{Rate: 22050, Samples: 1, PCM: []int16{0}}, frame.ErrRate},
		{"flags", frame.Frame{Rate: 8000, Samples: 1, PCM: []int16{0}, Flags: 0x10}, frame.ErrFlags},
		{"Opus too long", frame.Frame{Codec: frame.Opus, Rate: 8000, Samples: 160, Payload: make([]byte, 4001)}, frame.ErrSize},
	} {
		b, err := c.f.AppendBinary([]byte{9})
		if !errors.Is(err, c.want) || len(b) != 1 {
			t.Errorf("Marshal %s: %v (%d bytes), want %v", c.name, err, len(b), c.want)
		}
	}
}

// TestNoAllocs: Unmarshal into a frame with room, and AppendBinary into a
// buffer with room, allocate nothing.
func TestNoAllocs(t *testing.T) {
	pcm := make([]int16, 960)
	f := frame.Frame{Codec: frame.PCM, Rate: 48000, Samples: 960, PCM: pcm}
	msg, _ := f.MarshalBinary()
	dst := frame.Frame{PCM: make([]int16, 960)}
	buf := make([]byte, 0, len(msg))
	if a := testing.AllocsPerRun(100, func() {
		if err := frame.Unmarshal(msg, &dst); err != nil {
			t.Fatal(err)
		}
		if _, err := dst.AppendBinary(buf[:0]); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("%v allocs", a)
	}
}

// BenchmarkUnmarshal reads one 20 ms 48 kHz PCM frame.
func BenchmarkUnmarshal(b *testing.B) {
	f := frame.Frame{Codec: frame.PCM, Rate: 48000, Samples: 960, PCM: make([]int16, 960)}
	msg, _ := f.MarshalBinary()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := frame.Unmarshal(msg, &f); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzUnmarshal: any bytes either fail with an error or decode to a frame
// that Marshal turns back into the same bytes.
func FuzzUnmarshal(f *testing.F) {
	good, _ := example.MarshalBinary()
	f.Add(good)
	f.Add([]byte{})
	opus, _ := (&frame.Frame{Codec: frame.Opus, Rate: 48000, Samples: 960, Payload: []byte{0x78}}).MarshalBinary()
	f.Add(opus)
	ulaw, _ := (&frame.Frame{Codec: frame.PCMU, Rate: 8000, Samples: 4, Payload: []byte{1, 2, 3, 4}}).MarshalBinary()
	f.Add(ulaw)
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := frame.Frame{PCM: make([]int16, 0, 5760)}
		if err := frame.Unmarshal(data, &fr); err != nil {
			return
		}
		b, err := fr.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded frame does not marshal: %v", err)
		}
		if !bytes.Equal(b, data) {
			t.Fatalf("round trip changed the message:\n%x\n%x", data, b)
		}
	})
}
