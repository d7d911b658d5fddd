// Package g711 converts G.711 frames (ITU-T G.711, RTP payload types 0
// PCMU and 8 PCMA of RFC 3551 §4.5.14) without allocating, for the media
// worker's per-packet path: decode to 16-bit linear PCM into a caller's
// buffer, encode back, and transcode PCMU<->PCMA directly when two bridged
// legs negotiated different laws.
//
// The companding itself is github.com/zaf/g711's per-sample functions; its
// slice functions allocate their result on every call and are not used.
// Every function converts min(len(dst), len(src)) samples and returns that
// count, like copy.
package g711
