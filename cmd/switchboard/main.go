// Command switchboard runs the voice platform.
//
//	switchboard up                 every role in one process on an embedded NATS
//	switchboard edge   --nats URL  the stateless edge (command router, later SIP and web)
//	switchboard worker --nats URL --roles media,conference,dtmf
//	switchboard ctl nodes|events   a small client
//
// SIGTERM drains (hands partitions over, then exits); SIGINT stops at once.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/switchboard-voip/switchboard/cmd/app"
	"github.com/switchboard-voip/switchboard/cmd/config"
)

const usage = `switchboard — SIP and WebRTC calls driven over NATS

usage:
  switchboard up       [flags]   every role in one process, embedded NATS (./data)
  switchboard edge     [flags]   stateless edge: routes commands (needs --nats)
  switchboard worker   [flags]   worker roles (--roles media,conference,dtmf; needs --nats)
  switchboard ctl nodes          list live nodes and the partitions they own
  switchboard ctl events         tail (or replay with --since) the event stream
  switchboard version

Run "switchboard up -h" for flags. Every flag also reads SB_<NAME> from the
environment and <name> from the YAML file given by --config.
`

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "up", "edge", "worker":
		return serve(cmd, rest, getenv, stderr)
	case "ctl":
		return ctl(rest, getenv, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, app.Version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

func serve(cmd string, args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, rest, err := config.Load(cmd, args, getenv)
	if errors.Is(err, config.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 2
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "switchboard %s: unexpected arguments %q\n", cmd, rest)
		return 2
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 2
	}
	var mode app.Mode
	switch cmd {
	case "up":
		mode = app.Mode{Edge: true, Roles: cfg.Roles}
	case "edge":
		mode = app.Mode{Edge: true}
	case "worker":
		mode = app.Mode{Roles: cfg.Roles}
	}
	if cmd != "up" && cfg.NATSURL == "" {
		cfg.NATSURL = "nats://127.0.0.1:4222" // edges and workers join a cluster; only `up` embeds one
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, mode, log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}

	// Two-step shutdown: SIGTERM drains, SIGINT (or a second signal) stops now.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	for {
		select {
		case err := <-done:
			if err != nil {
				log.Error("stopped with error", "err", err)
				return 1
			}
			return 0
		case s := <-sigs:
			if s == syscall.SIGTERM {
				log.Info("SIGTERM: draining; send SIGINT to stop at once")
				go func() {
					if err := a.Drain(ctx); err != nil {
						log.Warn("drain incomplete", "err", err)
					}
					cancel()
				}()
				// A second signal of either kind stops at once.
				go func() {
					select {
					case <-sigs:
						log.Info("second signal: stopping now")
						cancel()
					case <-ctx.Done(): // the drain finished or failed: nothing to wait for
					}
				}()
				continue
			}
			log.Info("SIGINT: stopping now")
			cancel()
		}
	}
}

func newLogger(cfg config.Config, w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.ToUpper(cfg.LogLevel))); err != nil {
		return nil, fmt.Errorf("log_level %q: %w", cfg.LogLevel, err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
