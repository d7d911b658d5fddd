package events_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/switchboard-voip/switchboard/events"
)

// kvKey is the key syntax JetStream KV accepts (nats.go's validKeyRe).
var kvKey = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)

// checkToken fails t unless tok can be used as one NATS subject token and as
// one KV key (or key segment).
func checkToken(t testing.TB, callID, tok string) {
	t.Helper()
	if tok == "" {
		t.Fatalf("EncodeCallID(%q) is empty", callID)
	}
	if i := strings.IndexFunc(tok, func(r rune) bool {
		return r == '.' || r == '*' || r == '>' || r == ' ' || r == '\t' || r == '\r' || r == '\n' || r > 0x7e || r < 0x21
	}); i >= 0 {
		t.Fatalf("EncodeCallID(%q) = %q has %q at %d, not allowed in a subject token", callID, tok, tok[i], i)
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			t.Fatalf("EncodeCallID(%q) = %q has %q, outside the base64url alphabet", callID, tok, c)
		}
	}
	if !kvKey.MatchString(tok) {
		t.Fatalf("EncodeCallID(%q) = %q is not a valid KV key", callID, tok)
	}
	if subj := "sb.evt.call." + tok + ".hangup"; !server.IsValidLiteralSubject(subj) {
		t.Fatalf("nats-server rejects subject %q", subj)
	}
}

// callIDs are Call-IDs with every character RFC 3261 §25.1 lets a Call-ID
// word carry that subjects or KV keys refuse, plus some it does not allow
// but that are seen in the wild.
var callIDs = []string{
	"a84b4c76e66710@pc33.atlanta.com",
	"3848276298220188511@atlanta.example.com",
	"f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com",
	"1-4242@192.0.2.10",
	"x",
	"@",
	".",
	"...",
	"a.b.c",
	"%41%2e%00",
	`"quoted"`,
	"path/to/call",
	"with space",
	"tab\tand\nnewline",
	"*",
	">",
	"sb.evt.>",
	"a*b>c",
	"!%*_+`'~()<>:\\\"/[]?{}-.",
	"[2001:db8::1]@[::1]",
	"=padding==",
	"通话-42@例子.测试",
	"ümlaut-☎️@münchen.example",
	"🎉📞",
	"\x00\xff\xfe", // not UTF-8: bytes are bytes
	strings.Repeat("A", 1024),
	strings.Repeat("a84b4c76e66710@pc33.atlanta.com/", 32), // 1 KiB of separators
	longCallID,
}

func TestCallIDRoundTrip(t *testing.T) {
	for _, id := range callIDs {
		tok := events.EncodeCallID(id)
		checkToken(t, id, tok)
		got, err := events.DecodeCallID(tok)
		if err != nil {
			t.Fatalf("DecodeCallID(%q): %v", tok, err)
		}
		if got != id {
			t.Fatalf("round trip of %q gave %q", id, got)
		}
	}
}

// TestCallIDEncodingIsBase64URL pins the encoding itself: unpadded
// base64url (RFC 4648 §5) of the raw bytes. Other languages must agree.
func TestCallIDEncodingIsBase64URL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a84b4c76e66710@pc33.atlanta.com", "YTg0YjRjNzZlNjY3MTBAcGMzMy5hdGxhbnRhLmNvbQ"},
		{"3848276298220188511@atlanta.example.com", "Mzg0ODI3NjI5ODIyMDE4ODUxMUBhdGxhbnRhLmV4YW1wbGUuY29t"},
		{"x", "eA"},
		{"xy", "eHk"},
		{"xyz", "eHl6"},
		{"通话-42@例子.测试", "6YCa6K-dLTQyQOS-i-WtkC7mtYvor5U"}, // '-' and '_' rather than '+' and '/'
		{`"quoted"/%2F*>@[2001:db8::1]`, "InF1b3RlZCIvJTJGKj5AWzIwMDE6ZGI4OjoxXQ"},
		{"\xfb\xff", "-_8"},
	} {
		if got := events.EncodeCallID(c.in); got != c.want {
			t.Errorf("EncodeCallID(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestEmptyCallID: an empty Call-ID (which RFC 3261 does not allow) encodes
// to the empty string, which is neither a subject token nor a KV key.
// Callers must refuse empty Call-IDs before building subjects or keys.
func TestEmptyCallID(t *testing.T) {
	if tok := events.EncodeCallID(""); tok != "" {
		t.Fatalf("EncodeCallID(\"\") = %q", tok)
	}
	if got, err := events.DecodeCallID(""); err != nil || got != "" {
		t.Fatalf("DecodeCallID(\"\") = %q, %v", got, err)
	}
	if subj := events.CallEventSubject("", "hangup"); server.IsValidLiteralSubject(subj) {
		t.Fatalf("%q unexpectedly valid", subj)
	}
}

// TestDecodeCallIDRejects: anything that is not a token EncodeCallID could
// have produced is ErrBadCallIDToken. In particular a Call-ID has exactly one
// token: no padding, no other alphabet, no ignored line breaks, no non-zero
// trailing bits.
func TestDecodeCallIDRejects(t *testing.T) {
	for _, tok := range []string{
		"eA==",      // padded
		"eA=",       // padded
		"e",         // impossible length
		"eHl6e",     // impossible length
		"a+b/",      // standard alphabet, not URL
		"YTg0.YjRj", // subject separator
		"eA*",
		"e A",
		"e\nA",   // base64 ignores CR/LF; we must not
		"eA\r\n", // likewise
		"eB",     // "x" with non-zero trailing bits: eA is its only token
		"eHm",    // "xy" likewise (eHk)
		"通话",
	} {
		got, err := events.DecodeCallID(tok)
		if !errors.Is(err, events.ErrBadCallIDToken) {
			t.Errorf("DecodeCallID(%q) = %q, %v; want ErrBadCallIDToken", tok, got, err)
		}
	}
}

func FuzzCallID(f *testing.F) {
	for _, id := range callIDs {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		tok := events.EncodeCallID(id)
		if id != "" {
			checkToken(t, id, tok)
		}
		got, err := events.DecodeCallID(tok)
		if err != nil || got != id {
			t.Fatalf("round trip of %q: %q, %v", id, got, err)
		}
		// The other direction: whatever id is, read as a token it either
		// decodes to something that encodes back to exactly it (one token per
		// Call-ID), or is refused.
		if dec, err := events.DecodeCallID(id); err == nil {
			if back := events.EncodeCallID(dec); back != id {
				t.Fatalf("DecodeCallID(%q) = %q, which encodes to %q", id, dec, back)
			}
		} else if !errors.Is(err, events.ErrBadCallIDToken) {
			t.Fatalf("DecodeCallID(%q): %v is not ErrBadCallIDToken", id, err)
		}
		if subj := events.CallEventSubject(id, "hangup"); id != "" && !server.IsValidLiteralSubject(subj) {
			t.Fatalf("CallEventSubject(%q) = %q is not a valid subject", id, subj)
		}
	})
}
