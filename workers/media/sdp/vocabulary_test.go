package sdp

import (
	"maps"
	"testing"
)

func TestRenameMedia(t *testing.T) {
	for _, c := range []struct {
		name, in, out string
		renamed       map[int]mediaName
	}{
		{"nothing to do", "m=audio 1 RTP/AVP 0\r\nm=video 0 RTP/AVP 96\r\n", "m=audio 1 RTP/AVP 0\r\nm=video 0 RTP/AVP 96\r\n", nil},
		{"T.38", "v=0\r\nm=audio 0 RTP/AVP 0\r\nm=image 5 udptl t38\r\na=x\r\n",
			"v=0\r\nm=audio 0 RTP/AVP 0\r\nm=application 5 UDP t38\r\na=x\r\n", map[int]mediaName{1: {"image", "udptl"}}},
		{"LF and tabs", "m=image\t5 UDPTL\tt38\nm=audio 1 RTP/AVP 0\n", "m=application 5 UDP t38\nm=audio 1 RTP/AVP 0\n",
			map[int]mediaName{0: {"image", "UDPTL"}}},
		{"MSRP over WebSocket (RFC 7977)", "m=message 1 TCP/WSS/MSRP *\r\n", "m=application 1 UDP *\r\n", map[int]mediaName{0: {"message", "TCP/WSS/MSRP"}}},
		{"too short to rename", "m=image 5\r\n", "m=image 5\r\n", nil},
		{"last line without line end", "m=image 5 udptl t38", "m=application 5 UDP t38", map[int]mediaName{0: {"image", "udptl"}}},
	} {
		out, renamed := renameMedia(c.in)
		if out != c.out || !maps.Equal(renamed, c.renamed) {
			t.Errorf("%s: renameMedia(%q) = %q, %v; want %q, %v", c.name, c.in, out, renamed, c.out, c.renamed)
		}
	}
}
