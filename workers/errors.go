package workers

import "errors"

var (
	// ErrConfig is wrapped by every configuration error of New.
	ErrConfig = errors.New("workers: bad config")
	// ErrPartitionMismatch is returned when the cluster already stores a
	// different partition count than this node was configured with.
	ErrPartitionMismatch = errors.New("workers: partition count differs from the cluster's")
	// ErrDrainTimeout is returned by Drain when partitions were still owned
	// at the deadline.
	ErrDrainTimeout = errors.New("workers: drain timed out")
)
