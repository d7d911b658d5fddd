package resample

import (
	"fmt"
	"math"
	"testing"
)

// quality is what TestQuality measures for one ratio, and what
// testdata/quality.golden records.
type quality struct {
	taps     int
	delayMS  float64 // Delay()
	measured float64 // delay measured from a 100 Hz tone's phase, ms
	rippleDB float64 // peak-to-peak gain over the pass band
	stopDB   float64 // weakest attenuation of a tone above the new Nyquist (down-sampling only)
	sinadDB  float64 // 1 kHz tone: tone power over everything else (aliases, images, rounding)
	rtSNRDB  float64 // in>out>in round trip of a 1 kHz tone, aligned by the two delays
}

// measure runs the quality measurements of one conversion.
func measure(t *testing.T, in, out int) quality {
	t.Helper()
	const amp = 16000.0 // -6 dBFS: rounding noise ≈ -101 dB below it
	fin, fout := float64(in), float64(out)
	var q quality
	r, err := New(in, out)
	if err != nil {
		t.Fatal(err)
	}
	q.taps = r.Taps()
	q.delayMS = r.Delay() * 1000
	n := in / 2                                             // 500 ms of input
	skip := int(math.Ceil(r.Delay()*fout)) + 2*r.Taps()/r.l // past the start-up transient
	if skip > out/4 {
		t.Fatalf("transient %d samples longer than the 250 ms kept", skip)
	}
	tail := func(y []int16) []int16 { return y[skip : len(y)-skip] }

	// Delay: the phase of a 100 Hz tone.
	y, _, _ := convert(in, out, tone(n, 100, fin, amp))
	// Fit on absolute output time: sample k of tail is at (k+skip)/out s.
	_, ph, _ := sineFit(y[skip:len(y)-skip], 100, fout)
	ph -= 2 * math.Pi * 100 * float64(skip) / fout
	d := math.Mod(-ph/(2*math.Pi*100), 0.01)
	if d < 0 {
		d += 0.01
	}
	q.measured = d * 1000

	// Pass band: gain at tones from 100 Hz to the pass-band edge.
	nyq := math.Min(fin, fout) / 2
	lo, hi := math.Inf(1), math.Inf(-1)
	for f := 100.0; f <= PassbandFraction*nyq; f += PassbandFraction * nyq / 23 {
		y, _, _ := convert(in, out, tone(n, f, fin, amp))
		a, _, _ := sineFit(tail(y), f, fout)
		g := db(a / amp)
		lo, hi = math.Min(lo, g), math.Max(hi, g)
	}
	q.rippleDB = hi - lo

	// Stop band: tones between the new and the old Nyquist frequency
	// must vanish (whatever is left is aliased into the pass band).
	if fout < fin {
		q.stopDB = math.Inf(1)
		for f := fout / 2; f < fin/2; f += (fin/2 - fout/2) / 41 {
			y, _, _ := convert(in, out, tone(n, f, fin, amp))
			att := -db(rms(tail(y)) / (amp / math.Sqrt2))
			q.stopDB = math.Min(q.stopDB, att)
		}
	}

	// SINAD of a 1 kHz tone.
	y, _, _ = convert(in, out, tone(n, 1000, fin, amp))
	a, _, res := sineFit(tail(y), 1000, fout)
	q.sinadDB = 10 * math.Log10(a*a/2/res)

	// Round trip, compared sample by sample with the input tone delayed by
	// the two filters (computed, since the delay need not be a whole
	// number of samples).
	back, r2, err := convert(out, in, y)
	if err != nil {
		t.Fatal(err)
	}
	lag := r.Delay() + r2.Delay()
	var sig, noise float64
	for i := in / 10; i < len(back)-in/10; i++ {
		s := amp * math.Sin(2*math.Pi*1000*(float64(i)/fin-lag))
		e := float64(back[i]) - s
		sig += s * s
		noise += e * e
	}
	q.rtSNRDB = 10 * math.Log10(sig/noise)
	return q
}

// TestQuality measures every ratio and holds it to the media worker's
// requirements: pass band flat within 0.1 dB, aliasing at least 60 dB
// down, a 1 kHz tone clean to 60 dB, the reported delay true to 0.01 ms
// and a 1 kHz round trip above 40 dB SNR.
func TestQuality(t *testing.T) {
	if testing.Short() {
		t.Skip("several seconds of filtering")
	}
	got := map[string]quality{}
	for _, rt := range ratios {
		t.Run(rt.name, func(t *testing.T) {
			q := measure(t, rt.in, rt.out)
			got[rt.name] = q
			stop := "n/a"
			if rt.out < rt.in {
				stop = fmt.Sprintf("%.1f dB", q.stopDB)
			}
			t.Logf("taps %d, delay %.4f ms (measured %.4f), ripple %.4f dB, stop band %s, SINAD %.1f dB, round trip %.1f dB",
				q.taps, q.delayMS, q.measured, q.rippleDB, stop, q.sinadDB, q.rtSNRDB)
			if math.Abs(q.measured-q.delayMS) > 0.01 {
				t.Errorf("measured delay %.4f ms, Delay() says %.4f ms", q.measured, q.delayMS)
			}
			if q.rippleDB > 0.1 {
				t.Errorf("pass-band ripple %.3f dB > 0.1 dB", q.rippleDB)
			}
			if rt.out < rt.in && q.stopDB < 60 {
				t.Errorf("stop-band attenuation %.1f dB < 60 dB", q.stopDB)
			}
			if q.sinadDB < 60 {
				t.Errorf("1 kHz SINAD %.1f dB < 60 dB", q.sinadDB)
			}
			if q.rtSNRDB < 40 {
				t.Errorf("round-trip SNR %.1f dB < 40 dB", q.rtSNRDB)
			}
		})
	}
	var s string
	for _, rt := range ratios {
		q, ok := got[rt.name]
		if !ok {
			return // a subtest failed hard
		}
		stop := "-"
		if rt.out < rt.in {
			stop = fmt.Sprintf("%.0f", q.stopDB)
		}
		s += fmt.Sprintf("%-8s taps=%d delay_ms=%.4f ripple_db=%.3f stop_db=%s sinad_db=%.0f roundtrip_db=%.0f\n",
			rt.name, q.taps, q.delayMS, q.rippleDB, stop, q.sinadDB, q.rtSNRDB)
	}
	checkGolden(t, "quality.golden", s)
}

// TestRoundTrip48k8k48k is the media worker's own case: a 1 kHz tone from
// a 48 kHz leg to an 8 kHz one and back keeps more than 40 dB SNR.
func TestRoundTrip48k8k48k(t *testing.T) {
	q := measure(t, 48000, 8000)
	t.Logf("48k>8k>48k 1 kHz SNR %.1f dB", q.rtSNRDB)
	if q.rtSNRDB < 40 {
		t.Errorf("SNR %.1f dB < 40 dB", q.rtSNRDB)
	}
}

// TestPrototypeResponse checks the designed filters themselves, by their
// frequency response, independently of the streaming code: the pass band
// within ±0.01 dB of 0 dB and the whole stop band at least
// DesignAttenuation-1 dB down.
func TestPrototypeResponse(t *testing.T) {
	for _, rt := range ratios {
		t.Run(rt.name, func(t *testing.T) {
			g := gcd(rt.in, rt.out)
			l, m := rt.out/g, rt.in/g
			h := prototype(rt.in, l, m)
			fsP := float64(rt.in * l)
			nyq := float64(min(rt.in, rt.out)) / 2
			resp := func(f float64) float64 {
				var re, im float64
				for i, v := range h {
					w := 2 * math.Pi * f / fsP * float64(i)
					re += v * math.Cos(w)
					im -= v * math.Sin(w)
				}
				return db(math.Hypot(re, im) / float64(l))
			}
			worstPass, worstStop := 0.0, math.Inf(1)
			for f := 0.0; f <= PassbandFraction*nyq; f += nyq / 200 {
				worstPass = math.Max(worstPass, math.Abs(resp(f)))
			}
			for f := nyq; f <= fsP/2; f += (fsP/2 - nyq) / 2000 {
				worstStop = math.Min(worstStop, -resp(f))
			}
			t.Logf("%d taps: pass band ±%.4f dB, stop band ≥ %.1f dB", len(h), worstPass, worstStop)
			if worstPass > 0.01 {
				t.Errorf("pass band deviates %.4f dB", worstPass)
			}
			if worstStop < DesignAttenuation-1 {
				t.Errorf("stop band only %.1f dB down", worstStop)
			}
		})
	}
}
