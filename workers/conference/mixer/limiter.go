package mixer

import "math"

// fullScale is the largest magnitude an int16 output sample may have.
const fullScale = 32767

// limiter is the state of one output stream's limiter: the shared mix and
// each speaker's mix-minus each have their own, because their levels
// differ.
type limiter struct {
	// env is the peak envelope of the stream, in sample units.
	env float32
}

// limiterParams are the constants of every limiter of one mixer.
type limiterParams struct {
	knee     float32 // threshold and soft-clip knee, in sample units
	att, rel float32 // per-sample envelope coefficients
	relFrame float32 // rel to the power of one frame's samples
}

func newLimiterParams(cfg Config, frame int) limiterParams {
	coef := func(sec float64) float32 {
		if sec <= 0 {
			return 0
		}
		return float32(math.Exp(-1 / (sec * float64(cfg.Rate))))
	}
	p := limiterParams{
		knee: float32(32768 * math.Pow(10, cfg.Knee/20)),
		att:  coef(cfg.Attack.Seconds()),
		rel:  coef(cfg.Release.Seconds()),
	}
	p.relFrame = float32(math.Pow(float64(p.rel), float64(frame)))
	return p
}

// process limits src (a sum of int16 frames) into dst.
//
// While the envelope and every sample of the frame are at or below the
// knee, the frame is copied as it is: the gain is exactly 1, so quiet and
// normal mixes are bit-exact, and the common case costs one pass to find
// the peak and one to convert. Otherwise each sample updates a peak
// envelope (Attack when rising, Release when falling), the gain is
// knee/envelope when the envelope is above the knee, and what the gain
// leaves above the knee goes through a tanh soft clip that never reaches
// full scale.
func (p *limiterParams) process(l *limiter, dst []int16, src []int32) {
	var peak int32
	for _, x := range src {
		peak = max(peak, x, -x)
	}
	if l.env <= p.knee && float32(peak) <= p.knee {
		for i, x := range src {
			dst[i] = int16(x)
		}
		l.env = max(l.env*p.relFrame, float32(peak))
		return
	}
	env := l.env
	for i, x := range src {
		y := float32(x)
		a := max(y, -y)
		if a > env {
			env = a + p.att*(env-a)
		} else {
			env = a + p.rel*(env-a)
		}
		if env > p.knee {
			y *= p.knee / env
		}
		dst[i] = p.clip(y)
	}
	l.env = env
}

// clip rounds y to int16, bending magnitudes above the knee with a tanh
// curve whose slope is 1 at the knee and which tends to full scale, so
// that no input, however loud, wraps or flattens against full scale.
func (p *limiterParams) clip(y float32) int16 {
	a := max(y, -y)
	if a > p.knee {
		room := fullScale - p.knee
		a = p.knee + room*float32(math.Tanh(float64((a-p.knee)/room)))
	}
	r := int16(min(a+0.5, fullScale))
	if y < 0 {
		return -r
	}
	return r
}
