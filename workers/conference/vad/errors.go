package vad

import "errors"

// ErrConfig means a Config field is out of range: a Rate that is not
// positive, or a negative duration or dB figure.
var ErrConfig = errors.New("vad: invalid config")
