package codec

// maxOpusFrameBytes is the largest compressed frame RFC 6716 §3.2.1
// allows (R2).
const maxOpusFrameBytes = 1275

// opusPacketSamples checks an Opus packet against the rules of RFC 6716
// §3.4 (R1-R7) and returns how many samples per channel it decodes to at
// rate. The media worker checks before handing a packet to libopus so that
// the output buffer can be sized exactly (libopus writes up to the
// buffer's capacity), and so that junk is rejected with ErrInvalidPacket
// without a cgo call. It follows libopus's opus_packet_parse, so the two
// agree on every packet (FuzzOpusPacket checks this).
func opusPacketSamples(p []byte, rate int) (int, error) {
	if len(p) < 1 { // R1
		return 0, ErrInvalidPacket
	}
	toc := p[0]
	per := opusFrameDuration(toc) // in 1/400 s (2.5 ms)
	data := p[1:]
	var frames int
	switch toc & 3 {
	case 0: // one frame
		frames = 1
		if len(data) > maxOpusFrameBytes { // R2
			return 0, ErrInvalidPacket
		}
	case 1: // two frames of equal size
		frames = 2
		if len(data)%2 != 0 || len(data)/2 > maxOpusFrameBytes { // R3
			return 0, ErrInvalidPacket
		}
	case 2: // two frames, the first's length coded
		frames = 2
		n, used, ok := opusFrameLength(data)
		if !ok || n > len(data)-used { // R4
			return 0, ErrInvalidPacket
		}
		if len(data)-used-n > maxOpusFrameBytes {
			return 0, ErrInvalidPacket
		}
	case 3: // a counted number of frames
		if len(data) < 1 { // R6
			return 0, ErrInvalidPacket
		}
		fc := data[0]
		data = data[1:]
		frames = int(fc & 0x3f)
		if frames == 0 || frames*per > 48 { // R5: at most 120 ms
			return 0, ErrInvalidPacket
		}
		// n counts the bytes left for frames once padding is taken off
		// the end; off is where the frame lengths (or frames) start.
		n, off := len(data), 0
		if fc&0x40 != 0 { // padding: lengths of 255 mean 254 and go on
			for {
				if n <= 0 {
					return 0, ErrInvalidPacket
				}
				b := data[off]
				off++
				n--
				if b != 255 {
					n -= int(b)
					break
				}
				n -= 254
			}
			if n < 0 { // R6, R7
				return 0, ErrInvalidPacket
			}
		}
		if fc&0x80 != 0 { // VBR: frames-1 coded lengths
			last := n
			for range frames - 1 {
				l, used, ok := opusFrameLength(data[off : off+n])
				n -= used
				if !ok || l > n { // R7
					return 0, ErrInvalidPacket
				}
				off += used
				last -= used + l
			}
			if last < 0 || last > maxOpusFrameBytes { // R7
				return 0, ErrInvalidPacket
			}
		} else { // CBR
			if n%frames != 0 || n/frames > maxOpusFrameBytes { // R6
				return 0, ErrInvalidPacket
			}
		}
	}
	return frames * per * rate / 400, nil
}

// opusFrameDuration returns the duration of each frame of a packet, in
// units of 2.5 ms, from its TOC byte's configuration number (RFC 6716
// §3.1, Table 2): SILK-only 10/20/40/60 ms, hybrid 10/20 ms, CELT-only
// 2.5/5/10/20 ms.
func opusFrameDuration(toc byte) int {
	config := toc >> 3
	switch {
	case config < 12:
		return [4]int{4, 8, 16, 24}[config&3]
	case config < 16:
		return [2]int{4, 8}[config&1]
	default:
		return [4]int{1, 2, 4, 8}[config&3]
	}
}

// opusFrameLength reads a frame length coded in one or two bytes (RFC 6716
// §3.2.1): 0-251 in one byte, 252-1275 as b0 + 4·b1.
func opusFrameLength(b []byte) (n, used int, ok bool) {
	switch {
	case len(b) < 1:
		return 0, 0, false
	case b[0] < 252:
		return int(b[0]), 1, true
	case len(b) < 2:
		return 0, 0, false
	default:
		return int(b[0]) + 4*int(b[1]), 2, true
	}
}

// PacketSamples returns how many samples at rate one Opus packet holds
// (RFC 6716 §3.1: the TOC byte and frame count say it without decoding). A
// relay that passes Opus through needs it to advance its RTP timestamp,
// whose clock is always 48 kHz (RFC 7587 §4.1).
func PacketSamples(p []byte, rate int) (int, error) { return opusPacketSamples(p, rate) }
