package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/cheeseshop/cheeseshop/internal/deploy"
	"github.com/cheeseshop/cheeseshop/internal/upload"
)

// The files in deploy/ at the top of the module are these commands' output
// for the defaults; TestDeployFiles checks them.
//go:generate go test -run TestDeployFiles -update-deploy .

func cmdDeployNginx(_ context.Context, e env, args []string) error {
	return cmdDeploy(e, args, "deploy nginx", deploy.Nginx)
}

func cmdDeployApache(_ context.Context, e env, args []string) error {
	return cmdDeploy(e, args, "deploy apache", deploy.Apache)
}

// cmdDeploy prints a web server configuration. The data directory and the
// file size limit fall back to the variables serve reads, so that on a
// machine configured through the environment the two agree.
func cmdDeploy(e env, args []string, name string, write func(io.Writer, deploy.Config) error) error {
	var cfg deploy.Config
	fs := newFlags(e, name, name+" [flags] > FILE", nil)
	fs.StringVar(&cfg.Listen, "listen", fs.envString("CHEESESHOP_WEB_LISTEN", deploy.DefaultListen),
		"where the web server listens: PORT or HOST:PORT (env CHEESESHOP_WEB_LISTEN)")
	fs.StringVar(&cfg.Upstream, "upstream", fs.envString("CHEESESHOP_UPSTREAM", deploy.DefaultUpstream),
		"HOST:PORT that cheeseshop serve listens on (env CHEESESHOP_UPSTREAM)")
	fs.StringVar(&cfg.DataDir, "data-dir", fs.envString("CHEESESHOP_DATA_DIR", deploy.DefaultDataDir),
		"the app's data directory, served from disk (env CHEESESHOP_DATA_DIR)")
	fs.StringVar(&cfg.ServerName, "server-name", fs.envString("CHEESESHOP_SERVER_NAME", deploy.DefaultServerName),
		"host name of the virtual host (env CHEESESHOP_SERVER_NAME)")
	fs.Int64Var(&cfg.MaxFileSize, "max-file-size", fs.envInt("CHEESESHOP_MAX_FILE_SIZE", upload.DefaultMaxFileSize),
		"the app's --max-file-size in bytes; sets the request body limit (env CHEESESHOP_MAX_FILE_SIZE)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", name, fs.Args())
	}
	if cfg.MaxFileSize <= 0 {
		return fmt.Errorf("%s must be positive", fs.origin("max-file-size", "CHEESESHOP_MAX_FILE_SIZE"))
	}
	// The web server needs an absolute path; a relative one is taken from
	// here, as serve would take it.
	if cfg.DataDir != "" && !filepath.IsAbs(cfg.DataDir) {
		abs, err := filepath.Abs(cfg.DataDir)
		if err != nil {
			return fmt.Errorf("--data-dir: %w", err)
		}
		cfg.DataDir = abs
	}
	var buf bytes.Buffer
	if err := write(&buf, cfg); err != nil {
		return err
	}
	_, err := e.stdout.Write(buf.Bytes())
	return err
}
