package sdp_test

import (
	"testing"

	"github.com/switchboard-voip/switchboard/workers/media/sdp"
)

func BenchmarkParseOffer(b *testing.B) {
	for _, c := range []struct {
		name, body string
	}{
		{"sipp", sippOffer},
		{"baresip", baresipOffer},
		{"linphone-av", linphoneAVOffer},
		{"t38", audioT38Offer},
	} {
		body := []byte(crlf(c.body))
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := sdp.ParseOffer(body, g711); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAnswer(b *testing.B) {
	offer, err := sdp.ParseOffer([]byte(crlf(linphoneAVOffer)), g711)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sdp.Answer(ourLocal, offer, sdp.SendRecv); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOffer(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if sdp.Offer(ourLocal, g711, true, sdp.SendRecv) == nil {
			b.Fatal("nil offer")
		}
	}
}

func BenchmarkParseAnswer(b *testing.B) {
	body := []byte(crlf(sippUASAnswer))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sdp.ParseAnswer(body, g711); err != nil {
			b.Fatal(err)
		}
	}
}
