package workers

import "github.com/prometheus/client_golang/prometheus"

// metrics of the runtime; see docs/metrics.md.
type metrics struct {
	clusterNodes      *prometheus.GaugeVec
	partitionsConf    prometheus.Gauge
	partitionsOwned   *prometheus.GaugeVec
	partitionChanges  *prometheus.CounterVec
	heartbeatFailures prometheus.Counter
	takeoverSeconds   *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		clusterNodes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sb_cluster_nodes", Help: "Live nodes of a role, as this node sees them.",
		}, []string{"role"}),
		partitionsConf: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sb_partitions_configured", Help: "Partitions per role (P) in this cluster.",
		}),
		partitionsOwned: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sb_partitions_owned", Help: "Partitions of a role this node owns.",
		}, []string{"role"}),
		partitionChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sb_partition_changes_total", Help: "Partition ownership changes on this node (acquired, released, lost, suspended, resumed; held: a busy partition kept for a while from a node that joined).",
		}, []string{"role", "change"}),
		heartbeatFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sb_heartbeat_failures_total", Help: "Heartbeats that were not acknowledged by JetStream.",
		}),
		takeoverSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sb_takeover_duration_seconds", Help: "Time a role's takeover hook took for one partition.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8),
		}, []string{"role"}),
	}
	if reg != nil {
		reg.MustRegister(m.clusterNodes, m.partitionsConf, m.partitionsOwned, m.partitionChanges, m.heartbeatFailures, m.takeoverSeconds)
	}
	return m
}
