package codec

import (
	"errors"
	"slices"
	"sync"
	"testing"
)

var (
	_ FECDecoder = (*OpusDecoder)(nil)
	_ Encoder    = (*OpusEncoder)(nil)
	_ Decoder    = (*G711Decoder)(nil)
	_ Encoder    = (*G711Encoder)(nil)
)

// TestG711Sizes checks the G.711 length rules.
func TestG711Sizes(t *testing.T) {
	tests := []struct {
		name     string
		samples  int
		buf      int
		wantErr  error
		wantSize int
	}{
		{"10ms", 80, 80, nil, 80},
		{"20ms", 160, 160, nil, 160},
		{"30ms", 240, 240, nil, 240},
		{"1 sample", 1, 1, nil, 1},
		{"120ms", MaxG711Frame, MaxG711Frame, nil, MaxG711Frame},
		{"too long", MaxG711Frame + 1, 2000, ErrFrameSize, 0},
		{"short buffer", 160, 159, ErrShortBuffer, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				enc *G711Encoder
				dec *G711Decoder
			}{{NewPCMUEncoder(), NewPCMUDecoder()}, {NewPCMAEncoder(), NewPCMADecoder()}} {
				n, err := c.enc.Encode(make([]int16, tt.samples), make([]byte, tt.buf))
				if !errors.Is(err, tt.wantErr) || n != tt.wantSize {
					t.Errorf("Encode = %d, %v; want %d, %v", n, err, tt.wantSize, tt.wantErr)
				}
				n, err = c.dec.Decode(make([]byte, tt.samples), make([]int16, tt.buf))
				if !errors.Is(err, tt.wantErr) || n != tt.wantSize {
					t.Errorf("Decode = %d, %v; want %d, %v", n, err, tt.wantSize, tt.wantErr)
				}
			}
		})
	}
	if _, err := NewPCMUEncoder().Encode(nil, make([]byte, 10)); !errors.Is(err, ErrFrameSize) {
		t.Errorf("Encode(nil) = %v, want ErrFrameSize", err)
	}
	if _, err := NewPCMUDecoder().Decode(nil, make([]int16, 10)); !errors.Is(err, ErrEmptyPayload) {
		t.Errorf("Decode(nil) = %v, want ErrEmptyPayload", err)
	}
}

// TestG711Conceal checks that a G.711 loss is concealed at the length of
// the last packet.
func TestG711Conceal(t *testing.T) {
	d := NewPCMUDecoder()
	pcm := make([]int16, 480)
	d.Decode(make([]byte, 240), pcm)
	if n, err := d.Conceal(pcm); n != 240 || err != nil {
		t.Errorf("Conceal after a 30 ms packet = %d, %v; want 240", n, err)
	}
}

// TestOpusEncoderSettings checks the configuration ranges, the frame
// durations and that settings changed at run time reach the encoder.
func TestOpusEncoderSettings(t *testing.T) {
	bad := []struct {
		name string
		cfg  func(*OpusConfig)
	}{
		{"bitrate 0", func(c *OpusConfig) { c.Bitrate = 0 }},
		{"bitrate too high", func(c *OpusConfig) { c.Bitrate = 600000 }},
		{"complexity -1", func(c *OpusConfig) { c.Complexity = -1 }},
		{"complexity 11", func(c *OpusConfig) { c.Complexity = 11 }},
		{"loss 101", func(c *OpusConfig) { c.PacketLossPerc = 101 }},
	}
	for _, tt := range bad {
		cfg := DefaultOpusConfig(8000)
		tt.cfg(&cfg)
		if _, err := NewOpusEncoder(8000, cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", tt.name, err)
		}
	}
	for _, rate := range []int{0, 11025, 12000, 24000, 44100} {
		if _, err := NewOpusEncoder(rate, DefaultOpusConfig(rate)); !errors.Is(err, ErrRate) {
			t.Errorf("rate %d: %v, want ErrRate", rate, err)
		}
		if _, err := NewOpusDecoder(rate); !errors.Is(err, ErrRate) {
			t.Errorf("decoder rate %d: %v, want ErrRate", rate, err)
		}
	}

	for _, rate := range []int{8000, 16000, 48000} {
		e, err := NewOpusEncoder(rate, DefaultOpusConfig(rate))
		if err != nil {
			t.Fatal(err)
		}
		d := mustOpusDecoder(t, rate)
		payload := make([]byte, MaxPayload)
		pcm := make([]int16, MaxPacketSamples(rate))
		for _, ms := range []int{10, 20, 40, 60} {
			n := rate * ms / 1000
			m, err := e.Encode(tone(n, 440, rate, 8000), payload)
			if err != nil {
				t.Fatalf("%d Hz %d ms: %v", rate, ms, err)
			}
			if got, err := d.Decode(payload[:m], pcm); err != nil || got != n {
				t.Errorf("%d Hz %d ms: decoded %d, %v; want %d", rate, ms, got, err, n)
			}
		}
		for _, n := range []int{0, rate / 400, rate / 200, rate/50 + 1, rate / 25 * 3, rate / 100 * 3} {
			if _, err := e.Encode(make([]int16, n), payload); !errors.Is(err, ErrFrameSize) {
				t.Errorf("%d Hz, %d samples: %v, want ErrFrameSize", rate, n, err)
			}
		}
		if _, err := e.Encode(make([]int16, rate/50), nil); !errors.Is(err, ErrShortBuffer) {
			t.Errorf("no payload buffer: %v, want ErrShortBuffer", err)
		}
	}

	e, err := NewOpusEncoder(8000, DefaultOpusConfig(8000))
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{e.SetBitrate(5000), e.SetComplexity(11), e.SetPacketLossPerc(-1)} {
		if !errors.Is(err, ErrConfig) {
			t.Errorf("setter: %v, want ErrConfig", err)
		}
	}
	if err := errors.Join(e.SetBitrate(12000), e.SetComplexity(1), e.SetPacketLossPerc(20)); err != nil {
		t.Fatal(err)
	}
	want := OpusConfig{Bitrate: 12000, Complexity: 1, FEC: true, PacketLossPerc: 20}
	if got := e.Config(); got != want {
		t.Errorf("Config = %+v, want %+v", got, want)
	}
	if _, err := e.Encode(make([]int16, 160), make([]byte, MaxPayload)); err != nil {
		t.Fatal(err)
	}
	if b, _ := e.enc.Bitrate(); b != 12000 {
		t.Errorf("libopus bitrate %d after SetBitrate(12000) and a frame", b)
	}
	if c, _ := e.enc.Complexity(); c != 1 {
		t.Errorf("libopus complexity %d after SetComplexity(1) and a frame", c)
	}
	if p, _ := e.enc.PacketLossPerc(); p != 20 {
		t.Errorf("libopus loss %d after SetPacketLossPerc(20) and a frame", p)
	}
}

// TestOpusSettersConcurrent changes settings from other goroutines while
// frames are encoded: with -race this checks the setters need no lock.
func TestOpusSettersConcurrent(t *testing.T) {
	e, err := NewOpusEncoder(8000, DefaultOpusConfig(8000))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 200 {
			e.SetComplexity(i % 11)
			e.SetBitrate(8000 + i*100)
		}
	})
	sig := voiced(8000, 8000)
	payload := make([]byte, MaxPayload)
	for i := 0; i+160 <= len(sig); i += 160 {
		if _, err := e.Encode(sig[i:i+160], payload); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}

// TestOpusDTX checks that with DTX on, silence is sent as packets of at
// most two bytes that the decoder still turns into a frame.
func TestOpusDTX(t *testing.T) {
	cfg := DefaultOpusConfig(8000)
	cfg.DTX = true
	e, err := NewOpusEncoder(8000, cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := mustOpusDecoder(t, 8000)
	payload := make([]byte, MaxPayload)
	pcm := make([]int16, 960)
	small := 0
	for range 50 {
		n, err := e.Encode(make([]int16, 160), payload)
		if err != nil {
			t.Fatal(err)
		}
		if n <= 2 {
			small++
		}
		if m, err := d.Decode(payload[:n], pcm); err != nil || m != 160 {
			t.Fatalf("Decode of a %d-byte DTX packet = %d, %v", n, m, err)
		}
	}
	if small < 25 {
		t.Errorf("%d of 50 silent frames sent as DTX packets", small)
	}
}

// TestOpusDecodeWithinLen checks that Decode, Conceal and DecodeFEC write
// no further than the packet's length even when pcm's capacity is larger:
// hraban/opus.v2 hands libopus cap(pcm) as the room it has, which would
// let a 60 ms packet decoded into pcm[:160] of a large array overwrite
// whatever follows.
func TestOpusDecodeWithinLen(t *testing.T) {
	e, err := NewOpusEncoder(8000, DefaultOpusConfig(8000))
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, MaxPayload)
	n, err := e.Encode(tone(160, 440, 8000, 8000), payload)
	if err != nil {
		t.Fatal(err)
	}
	d := mustOpusDecoder(t, 8000)
	backing := make([]int16, 960)
	for i := range backing {
		backing[i] = 12345
	}
	check := func(what string) {
		t.Helper()
		if i := slices.IndexFunc(backing[160:], func(v int16) bool { return v != 12345 }); i >= 0 {
			t.Errorf("%s wrote sample %d past len", what, 160+i)
		}
	}
	if _, err := d.Decode(payload[:n], backing[:160]); err != nil {
		t.Fatal(err)
	}
	check("Decode")
	if _, err := d.Conceal(backing[:160]); err != nil {
		t.Fatal(err)
	}
	check("Conceal")
	if _, err := d.DecodeFEC(payload[:n], backing[:160]); err != nil {
		t.Fatal(err)
	}
	check("DecodeFEC")

	// And the encoder with a payload buffer whose capacity is larger.
	out := make([]byte, 4000)
	for i := range out {
		out[i] = 0xa5
	}
	// libopus fits the packet into the room it is given (lowering the
	// quality), so a small buffer is not an error.
	if n, err := e.Encode(tone(160, 440, 8000, 30000), out[:3]); err != nil || n > 3 {
		t.Errorf("Encode into 3 bytes = %d, %v", n, err)
	}
	if i := slices.IndexFunc(out[3:], func(b byte) bool { return b != 0xa5 }); i >= 0 {
		t.Errorf("Encode wrote byte %d past len", 3+i)
	}
}

// TestNoAllocs checks that the per-packet paths of every codec do not
// allocate.
func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	oe, err := NewOpusEncoder(8000, DefaultOpusConfig(8000))
	if err != nil {
		t.Fatal(err)
	}
	od := mustOpusDecoder(t, 8000)
	ue, ud := NewPCMUEncoder(), NewPCMUDecoder()
	sig := voiced(160, 8000)
	payload := make([]byte, MaxPayload)
	pcm := make([]int16, 960)
	n, _ := oe.Encode(sig, payload)
	opusPacket := append([]byte(nil), payload[:n]...)
	g711Packet := make([]byte, 160)
	ue.Encode(sig, g711Packet)
	fns := map[string]func(){
		"OpusEncode":    func() { oe.Encode(sig, payload) },
		"OpusDecode":    func() { od.Decode(opusPacket, pcm) },
		"OpusConceal":   func() { od.Conceal(pcm) },
		"OpusDecodeFEC": func() { od.DecodeFEC(opusPacket, pcm) },
		"OpusSetters":   func() { oe.SetComplexity(3); oe.Encode(sig, payload); oe.SetComplexity(5) },
		"G711Encode":    func() { ue.Encode(sig, payload) },
		"G711Decode":    func() { ud.Decode(g711Packet, pcm) },
		"G711Conceal":   func() { ud.Conceal(pcm); ud.Conceal(pcm); ud.Decode(g711Packet, pcm) },
	}
	for name, fn := range fns {
		if a := testing.AllocsPerRun(50, fn); a != 0 {
			t.Errorf("%s: %.1f allocs per packet", name, a)
		}
	}
}
