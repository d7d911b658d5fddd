// Package vad is the conference's voice activity detector: per member and
// per frame it says whether the member is talking, and when that changes
// (talking.started, talking.stopped events), with the level in dBFS.
//
// It is energy-based, as a mixer's talker detection needs to be cheap (one
// pass over the frame) and robust rather than fine-grained:
//
//   - A frame's level is its RMS in dBFS (a full-scale sine is −3 dBFS).
//   - The noise floor is the minimum frame level of the last two seconds
//     (minimum statistics, Martin 2001, in its simplest form): speech has
//     gaps between syllables and words in which the floor shows through,
//     while constant noise sets the floor to its own level within one
//     frame, so steady noise of any level never starts talk.
//   - Talk starts when the level stays above max(−40 dBFS, floor + 12 dB)
//     for 40 ms (two 20 ms frames: one click is not speech), and stops when
//     it has stayed below a threshold 6 dB lower for 400 ms. The hysteresis
//     and the hangover keep the state steady through the dips and gaps
//     inside a sentence (word gaps of connected speech are mostly under
//     250 ms), and the hangover is short enough that the end of a turn is
//     reported within half a second.
//
// The thresholds were chosen for telephone and WebRTC speech, which sits at
// −20 to −30 dBFS RMS while talking: −40 dBFS is 10–20 dB below quiet
// speech and above the noise of a typical line (−55 to −65 dBFS). A steady
// tone or hum counts as talk at first and, once it has lasted longer than
// the noise window, as noise: the detector stops reporting it as talk.
//
// A Detector holds one member's state and is used from one goroutine. It
// does not allocate.
package vad
