package rfc4733

import (
	"fmt"
	"time"

	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
)

// GenerateConfig shapes the packets Generate produces. The zero value of
// every field but ClockRate means its default.
type GenerateConfig struct {
	// ClockRate is the telephone-event clock rate, 8000 or 48000: the
	// units of timestamps and durations. Required.
	ClockRate uint32
	// Tone is how long each digit is held. Default 100 ms.
	Tone time.Duration
	// Gap is the silence from one digit's end to the next digit's start.
	// Default 100 ms; at least (EndRepeats-1)*Interval, so that the
	// redundant end packets of one digit are sent before the next begins.
	Gap time.Duration
	// Interval is the time between packets of one event (RFC 4733
	// §2.5.1.2: at most 50 ms; the audio's packet time is usual).
	// Default 20 ms.
	Interval time.Duration
	// Volume is the power level as -dBm0, 0-63 (§2.3.4). Default 10.
	Volume uint8
	// EndRepeats is how many times the end packet is sent (§2.5.1.4:
	// three). Default 3.
	EndRepeats int
}

func (c *GenerateConfig) fill() error {
	if c.ClockRate == 0 {
		return fmt.Errorf("%w: ClockRate is required", ErrConfig)
	}
	if c.Tone == 0 {
		c.Tone = 100 * time.Millisecond
	}
	if c.Gap == 0 {
		c.Gap = 100 * time.Millisecond
	}
	if c.Interval == 0 {
		c.Interval = 20 * time.Millisecond
	}
	if c.Volume == 0 {
		c.Volume = 10
	}
	if c.EndRepeats == 0 {
		c.EndRepeats = 3
	}
	switch {
	case c.Tone < 0 || c.Gap < 0 || c.Interval < 0 || c.EndRepeats < 0:
		return fmt.Errorf("%w: negative Tone, Gap, Interval or EndRepeats", ErrConfig)
	case c.Volume > 63:
		return fmt.Errorf("%w: Volume %d above 63", ErrConfig, c.Volume)
	case c.units(c.Interval) == 0:
		return fmt.Errorf("%w: Interval %s is under one timestamp unit", ErrConfig, c.Interval)
	case c.Gap < time.Duration(c.EndRepeats-1)*c.Interval:
		return fmt.Errorf("%w: Gap %s is shorter than the %d end packets take", ErrConfig, c.Gap, c.EndRepeats)
	}
	return nil
}

func (c *GenerateConfig) units(d time.Duration) uint64 {
	return uint64(d) * uint64(c.ClockRate) / uint64(time.Second)
}

func (c *GenerateConfig) time(units uint64) time.Duration {
	return time.Duration(units * uint64(time.Second) / uint64(c.ClockRate))
}

// Step is one RTP packet to send. The media worker gives it the next
// sequence number of the stream, the RTP timestamp base+Timestamp, the
// telephone-event payload type, and sends it At after it began.
type Step struct {
	// At is when to send the packet, from the start of the sequence.
	At time.Duration
	// Timestamp is the event's start, in clock-rate units from the start
	// of the sequence: the same for every packet of a digit (RFC 4733
	// §2.3.1), moved on by 0xFFFF per segment of a long one (§2.5.1.3).
	Timestamp uint32
	// Marker is set on the first packet of each digit (§2.5.1.1).
	Marker bool
	// End is set on the end packet and its repeats (§2.5.1.4).
	End bool
	// Digit is the key this packet belongs to.
	Digit digit.Digit
	// Payload is the 4-byte event block.
	Payload [PayloadSize]byte
}

// Generate returns the packets that send digits ("0"-"9", "*", "#",
// "A"-"D", "a"-"d") as RFC 4733 events: for each digit, a packet every
// Interval with a growing duration, the marker on the first, the end
// packet sent EndRepeats times with the same timestamp and duration, then
// Gap before the next digit's timestamp (§2.5.1). Steps are in the order
// of At. An invalid character is an error wrapping digit.ErrInvalid.
func Generate(digits string, cfg GenerateConfig) ([]Step, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	var steps []Step
	var start time.Duration
	for i := range len(digits) {
		d, err := digit.Parse(digits[i])
		if err != nil {
			return nil, fmt.Errorf("%w: %q at %d", err, digits[i], i)
		}
		steps = cfg.appendDigit(steps, d, start)
		start += cfg.Tone + cfg.Gap
	}
	return steps, nil
}

func (c *GenerateConfig) appendDigit(steps []Step, d digit.Digit, start time.Duration) []Step {
	ts0 := c.units(start)
	total := max(c.units(c.Tone), 1)
	step := c.units(c.Interval)
	p := Payload{Event: d.Event(), Volume: c.Volume}
	first := true
	add := func(segStart, elapsed uint64, end bool) {
		p.End, p.Duration = end, uint16(elapsed-segStart)
		s := Step{
			// The packet that reports elapsed units is sent one Interval
			// before that time, as baresip and Asterisk do: the first
			// packet goes out at once with one Interval of duration.
			At:        start + c.time(elapsed) - min(c.Interval, c.time(elapsed)),
			Timestamp: uint32(ts0 + segStart),
			Marker:    first,
			End:       end,
			Digit:     d,
		}
		first = false
		p.AppendTo(s.Payload[:0])
		steps = append(steps, s)
	}
	var segStart uint64
	for elapsed := min(step, total); ; elapsed = min(elapsed+step, total) {
		for elapsed-segStart > MaxDuration {
			add(segStart, segStart+MaxDuration, false)
			segStart += MaxDuration
		}
		if elapsed == total {
			add(segStart, elapsed, true)
			break
		}
		add(segStart, elapsed, false)
	}
	last := steps[len(steps)-1]
	for r := 1; r < c.EndRepeats; r++ {
		last.At += c.Interval
		last.Marker = false
		steps = append(steps, last)
	}
	return steps
}
