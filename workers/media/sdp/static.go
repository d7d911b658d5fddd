package sdp

// staticAudio holds the audio payload types RFC 3551 §6 (Table 4) assigns
// statically, so that an m-line listing 0 or 8 without a=rtpmap still
// names PCMU or PCMA. Video types (25-34) are left out: only audio is
// negotiated here.
var staticAudio = map[uint8]Codec{
	0:  {0, "PCMU", 8000, 1, ""},
	3:  {3, "GSM", 8000, 1, ""},
	4:  {4, "G723", 8000, 1, ""},
	5:  {5, "DVI4", 8000, 1, ""},
	6:  {6, "DVI4", 16000, 1, ""},
	7:  {7, "LPC", 8000, 1, ""},
	8:  {8, "PCMA", 8000, 1, ""},
	9:  {9, "G722", 8000, 1, ""},
	10: {10, "L16", 44100, 2, ""},
	11: {11, "L16", 44100, 1, ""},
	12: {12, "QCELP", 8000, 1, ""},
	13: {13, "CN", 8000, 1, ""},
	14: {14, "MPA", 90000, 1, ""},
	15: {15, "G728", 8000, 1, ""},
	16: {16, "DVI4", 11025, 1, ""},
	17: {17, "DVI4", 22050, 1, ""},
	18: {18, "G729", 8000, 1, ""},
}

// staticCodec returns the RFC 3551 §6 binding of an audio payload type.
func staticCodec(pt uint8) (Codec, bool) {
	c, ok := staticAudio[pt]
	return c, ok
}
