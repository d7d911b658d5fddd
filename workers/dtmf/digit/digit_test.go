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
	for _, tc := range []struct {
		in   byte
		want Digit
		err  error
	}{
		{'7', '7', nil}, {'*', '*', nil}, {'#', '#', nil}, {'a', 'A', nil}, {'D', 'D', nil},
		{'e', 0, ErrInvalid}, {' ', 0, ErrInvalid}, {0, 0, ErrInvalid}, {'E', 0, ErrInvalid},
	} {
		got, err := Parse(tc.in)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("Parse(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
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
