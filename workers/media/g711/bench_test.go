package g711

import (
	"math"
	"testing"
)

// frame is 20 ms of 8 kHz audio, the usual G.711 packetization.
const frame = 160

func benchPCM() []int16 {
	pcm := make([]int16, frame)
	for i := range pcm {
		pcm[i] = int16(10000 * math.Sin(2*math.Pi*float64(i)/8))
	}
	return pcm
}

func benchOctets() []byte {
	b := make([]byte, frame)
	EncodeUlaw(b, benchPCM())
	return b
}

func BenchmarkDecodeUlaw(b *testing.B) {
	src, dst := benchOctets(), make([]int16, frame)
	b.SetBytes(frame)
	b.ReportAllocs()
	for b.Loop() {
		DecodeUlaw(dst, src)
	}
}

func BenchmarkDecodeAlaw(b *testing.B) {
	src, dst := benchOctets(), make([]int16, frame)
	b.SetBytes(frame)
	b.ReportAllocs()
	for b.Loop() {
		DecodeAlaw(dst, src)
	}
}

func BenchmarkEncodeUlaw(b *testing.B) {
	src, dst := benchPCM(), make([]byte, frame)
	b.SetBytes(frame)
	b.ReportAllocs()
	for b.Loop() {
		EncodeUlaw(dst, src)
	}
}

func BenchmarkEncodeAlaw(b *testing.B) {
	src, dst := benchPCM(), make([]byte, frame)
	b.SetBytes(frame)
	b.ReportAllocs()
	for b.Loop() {
		EncodeAlaw(dst, src)
	}
}

func BenchmarkUlawToAlaw(b *testing.B) {
	src, dst := benchOctets(), make([]byte, frame)
	b.SetBytes(frame)
	b.ReportAllocs()
	for b.Loop() {
		UlawToAlaw(dst, src)
	}
}

func BenchmarkAlawToUlaw(b *testing.B) {
	src, dst := benchOctets(), make([]byte, frame)
	b.SetBytes(frame)
	b.ReportAllocs()
	for b.Loop() {
		AlawToUlaw(dst, src)
	}
}
