package digit

import (
	"errors"
	"testing"
	"time"
)

func TestEventCodes(t *testing.T) {
	for code := range uint8(16) {
		d, ok := FromEvent(code)
		if !ok || !d.Valid() || d.Event() != code {
			t.Fatalf("code %d: digit %q ok %v", code, d, ok)
		}
		p, err := Parse(byte(d))
		if err != nil || p != d {
			t.Fatalf("Parse(%q) = %q, %v", byte(d), p, err)
		}
	}
	for _, code := range []uint8{16, 100, 255} {
		if _, ok := FromEvent(code); ok {
			t.Errorf("FromEvent(%d) is a digit", code)
		}
	}
}

func TestParse(t *testing.T) {
	valid := map[byte]Digit{'7': '7', '*': '*', '#': '#', 'a': 'A', 'D': 'D'}
	for in, want := range valid {
		if got, err := Parse(in); got != want || err != nil {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []byte{'e', ' ', 0, 'E'} {
		if got, err := Parse(in); got != 0 || !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %q, %v; want ErrInvalid", in, got, err)
		}
	}
}

func TestStrings(t *testing.T) {
	if s := Digit('#').String(); s != "#" {
		t.Errorf("String = %q", s)
	}
	if s := Digit(0).String(); s != "?" {
		t.Errorf("String of zero = %q", s)
	}
	if s := (Event{Kind: Ended, Digit: '5', Duration: 160 * time.Millisecond}).String(); s != "ended 5 160ms" {
		t.Errorf("Event.String = %q", s)
	}
	if s := (Event{Kind: Started, Digit: '5'}).String(); s != "started 5" {
		t.Errorf("Event.String = %q", s)
	}
}

func TestEventPanicsOnInvalid(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	Digit('x').Event()
}
