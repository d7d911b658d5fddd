package rtpsession

import (
	"runtime"
	"strings"
)

func runtimeStack(buf []byte) int { return runtime.Stack(buf, true) }

func countSubstr(s, sub string) int { return strings.Count(s, sub) }
