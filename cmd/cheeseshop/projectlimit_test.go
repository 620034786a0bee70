package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{
		"1073741824": 1 << 30, "1GB": 1 << 30, "1 GiB": 1 << 30, "500MB": 500 << 20, "100mb": 100 << 20,
		"64KiB": 64 << 10, "2TB": 2 << 40, "10B": 10, "0": 0, "default": 0, "none": 0,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "1.5GB", "1PB", "99999999999TB", "GB"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

// project limit shows and sets a project's limits in the database; a bad
// size is refused before any database access; an unknown project is named.
func TestProjectLimitCommand(t *testing.T) {
	t.Parallel()
	url := indextest.NewDBURL(t)
	c := cli{t: t, dbURL: url, dataDir: t.TempDir()}
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `INSERT INTO projects (name, normalized) VALUES ('Big.Model', 'big-model')`); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		args []string
		want string // stdout, or the error's text with err set
		err  bool
	}{
		{[]string{"big_model"}, "Big.Model: file size limit the server's --max-file-size, total size limit none\n", false},
		{[]string{"big_model", "--file-size", "2GB"}, "Big.Model: file size limit 2 GB (2147483648 bytes), total size limit none\n", false},
		{[]string{"--total-size", "20GB", "Big.Model"}, "Big.Model: file size limit 2 GB (2147483648 bytes), total size limit 20 GB (21474836480 bytes)\n", false},
		{[]string{"big-model", "--file-size", "default"}, "Big.Model: file size limit the server's --max-file-size, total size limit 20 GB (21474836480 bytes)\n", false},
		{[]string{"big-model", "--file-size", "lots"}, `invalid value "lots" for flag -file-size`, true},
		{[]string{"nope", "--file-size", "1GB"}, `no project "nope"`, true},
	} {
		out, err := c.run("", append([]string{"project", "limit"}, step.args...)...)
		switch {
		case step.err && (err == nil || !strings.Contains(errorText(err), step.want)):
			t.Errorf("project limit %q: %v; want an error with %q", step.args, err, step.want)
		case !step.err && (err != nil || out != step.want):
			t.Errorf("project limit %q: %q, %v; want %q", step.args, out, err, step.want)
		}
	}
	var file, total *int64
	if err := conn.QueryRow(context.Background(), `SELECT upload_limit, total_size_limit FROM projects WHERE normalized = 'big-model'`).Scan(&file, &total); err != nil {
		t.Fatal(err)
	}
	if file != nil || total == nil || *total != 20<<30 {
		t.Errorf("stored limits %v, %v; want NULL and 20 GiB", file, total)
	}
}
