package media

import (
	"fmt"
	"math"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
	"github.com/switchboard-voip/switchboard/workers/dtmf/inband"
	"github.com/switchboard-voip/switchboard/workers/dtmf/info"
	"github.com/switchboard-voip/switchboard/workers/dtmf/rfc4733"
	"github.com/switchboard-voip/switchboard/workers/media/g711"
)

// dtmf_send limits and defaults.
const (
	defaultToneDuration = 100 * time.Millisecond
	minToneDuration     = 40 * time.Millisecond
	maxToneDuration     = 2 * time.Second
	toneGap             = 100 * time.Millisecond // between digits, as rfc4733.Generate's default
	maxSendDigits       = 64
	// toneLevel is each tone's amplitude for in-band sending: -10 dBm0
	// (0 dBm0 is a sine of peak 32767·10^(-3.14/20), G.711's full scale).
	toneLevel = -10.0
)

// sendDTMF checks a dtmf_send command and starts sending on its own
// goroutine (owned by the role, stopped when the call's media stops). It
// returns 202 once the digits are queued.
func (r *Role) sendDTMF(pt *partition, c *Call, cmd *events.DTMFSend) (int, string) {
	if c.State != StateAnswered {
		return events.CodeConflict, "call is " + c.State + ", not answered"
	}
	s := c.sess.Load()
	if s == nil {
		return events.CodeConflict, "call has no media on this node"
	}
	if len(cmd.Digits) == 0 || len(cmd.Digits) > maxSendDigits {
		return events.CodeBadRequest, "digits must be 1 to 64 keys"
	}
	keys := make([]digit.Digit, len(cmd.Digits))
	for i := range len(cmd.Digits) {
		d, err := digit.Parse(cmd.Digits[i])
		if err != nil {
			return events.CodeBadRequest, fmt.Sprintf("bad digit %q: digits are 0-9 * # A-D", cmd.Digits[i])
		}
		keys[i] = d
	}
	dur := time.Duration(cmd.DurationMS) * time.Millisecond
	if dur == 0 {
		dur = defaultToneDuration
	}
	if dur < minToneDuration || dur > maxToneDuration {
		return events.CodeBadRequest, "duration_ms must be 40-2000"
	}
	te := c.dtmf.te.Load()
	method := cmd.Method
	if method == "" || method == events.DTMFMethodAuto {
		method = events.DTMFMethodInfo
		if te != nil {
			method = events.DTMFMethodRFC4733
		}
	}
	if c.dtmf.stop != nil {
		return events.CodeConflict, "digits are being sent on this call; try again when they are"
	}
	var run func(stop <-chan struct{})
	switch method {
	case events.DTMFMethodRFC4733:
		if te == nil {
			return events.CodeConflict, "call negotiated no telephone-event; use method info or inband"
		}
		steps, err := rfc4733.Generate(cmd.Digits, rfc4733.GenerateConfig{ClockRate: te.rate, Tone: dur, Gap: toneGap})
		if err != nil {
			return events.CodeBadRequest, err.Error()
		}
		run = func(stop <-chan struct{}) { playEvents(s, c.format.Load(), te, steps, stop) }
	case events.DTMFMethodInfo:
		run = func(stop <-chan struct{}) { r.sendInfos(pt, c, keys, dur, stop) }
	case events.DTMFMethodInband:
		f := c.format.Load()
		if f == nil || f.kind == kindOpus {
			return events.CodeConflict, "in-band sending needs a G.711 call"
		}
		run = func(stop <-chan struct{}) { playTones(s, f, keys, dur, stop) }
	default:
		return events.CodeBadRequest, "method must be rfc4733, info, inband or auto"
	}
	stop := make(chan struct{})
	c.dtmf.stop = stop
	r.wg.Go(func() {
		run(stop)
		pt.mu.Lock()
		if c.dtmf.stop == stop {
			c.dtmf.stop = nil
		}
		pt.mu.Unlock()
	})
	return events.CodeAccepted, "sending " + method
}

// stopDTMF ends a dtmf_send in progress (the call's media stops).
func (c *Call) stopDTMF() {
	if c.dtmf.stop != nil {
		close(c.dtmf.stop)
		c.dtmf.stop = nil
	}
}

// waitUntil sleeps until t; false if stop came first.
func waitUntil(t time.Time, stop <-chan struct{}) bool {
	d := time.Until(t)
	if d <= 0 {
		select {
		case <-stop:
			return false
		default:
			return true
		}
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-stop:
		return false
	}
}

// playEvents sends RFC 4733 packets on the call's stream: the audio pauses
// (BeginEvent), each step goes out at its time with the event's timestamp
// on the audio's clock, and the audio resumes with the timestamp moved on
// by the time the digits took.
func playEvents(s Media, f *audioFormat, te *telephoneEvent, steps []rfc4733.Step, stop <-chan struct{}) {
	audioRate := te.rate
	if f != nil {
		audioRate = f.rate
	}
	base := s.BeginEvent()
	start := time.Now()
	for _, st := range steps {
		if !waitUntil(start.Add(st.At), stop) {
			break
		}
		ts := base + uint32(uint64(st.Timestamp)*uint64(audioRate)/uint64(te.rate))
		_ = s.WriteAt(te.pt, st.Payload[:], ts, st.Marker)
	}
	s.EndEvent(uint32(time.Since(start) * time.Duration(audioRate) / time.Second))
}

// playTones sends the digits as tones in the call's G.711 audio: 20 ms
// frames of both frequencies (Q.23) for dur, then toneGap of silence, in
// place of the audio.
func playTones(s Media, f *audioFormat, keys []digit.Digit, dur time.Duration, stop <-chan struct{}) {
	const frame = 160 // 20 ms at 8 kHz
	amp := 32767 * math.Pow(10, -3.14/20) * math.Pow(10, toneLevel/20)
	pcm := make([]int16, frame)
	payload := make([]byte, frame)
	base := s.BeginEvent()
	start := time.Now()
	n := 0
	send := func(lo, hi float64, frames int) bool {
		for range frames {
			if !waitUntil(start.Add(time.Duration(n)*20*time.Millisecond), stop) {
				return false
			}
			for k := range pcm {
				x := float64(n*frame+k) / 8000
				pcm[k] = int16(amp * (math.Sin(2*math.Pi*lo*x) + math.Sin(2*math.Pi*hi*x)))
			}
			if f.kind == kindPCMA {
				g711.EncodeAlaw(payload, pcm)
			} else {
				g711.EncodeUlaw(payload, pcm)
			}
			_ = s.WriteAt(f.pt, payload, base+uint32(n*frame), n == 0)
			n++
		}
		return true
	}
	for _, d := range keys {
		lo, hi, _ := inband.Tones(d)
		if !send(lo, hi, int(dur/(20*time.Millisecond))) || !send(0, 0, int(toneGap/(20*time.Millisecond))) {
			break
		}
	}
	s.EndEvent(uint32(n * frame))
}

// sendInfos sends one SIP INFO (application/dtmf-relay) per digit, each
// after the previous digit's duration and gap, through the call's edge.
func (r *Role) sendInfos(pt *partition, c *Call, keys []digit.Digit, dur time.Duration, stop <-chan struct{}) {
	start := time.Now()
	for i, d := range keys {
		if !waitUntil(start.Add(time.Duration(i)*(dur+toneGap)), stop) {
			return
		}
		body, err := info.RelayBody(d, dur)
		if err != nil {
			return
		}
		pt.mu.Lock()
		if c.ended {
			pt.mu.Unlock()
			return
		}
		req := r.request(c, sip.INFO, nil)
		req.AppendHeader(sip.NewHeader("Content-Type", info.ContentTypeRelay))
		req.SetBody(body)
		r.send(pt, req, c.Edge, c.destination(), nil)
		pt.mu.Unlock()
	}
}
