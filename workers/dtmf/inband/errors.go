package inband

import "errors"

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("inband: bad config")
