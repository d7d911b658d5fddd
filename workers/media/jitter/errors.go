package jitter

import "errors"

// ErrConfig is wrapped by every error of Config.Validate, so that the media
// worker can tell a bug in its own settings (refuse to start) from anything
// that happens at run time. The buffer has no run-time errors: every packet
// it cannot use is counted in Stats instead, because a receive path must
// never stop over one bad packet.
var ErrConfig = errors.New("jitter: bad config")
