package seed

import (
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

func TestParseDist(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Dist
		wantErr bool
	}{
		{in: "5", want: Dist{Fixed: 5}},
		{in: "longtail", want: Dist{Alpha: 1.6, Max: 10000}},
		{in: "longtail:2", want: Dist{Alpha: 2, Max: 10000}},
		{in: "longtail:1.2:50", want: Dist{Alpha: 1.2, Max: 50}},
		{in: "-1", wantErr: true},
		{in: "longtail:1", wantErr: true},
		{in: "longtail:x", wantErr: true},
		{in: "longtail:2:0", wantErr: true},
		{in: "zipf", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseDist(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("ParseDist(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// The generator is deterministic, its names are valid and unique, and every
// file is consistent with its release and its content.
func TestGenerator(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d := Dist{Alpha: 1.6, Max: 300}
	a, b := New(7, d, now), New(7, d, now)
	seen := map[index.Normalized]bool{}
	total, most := 0, 0
	for i := range 2000 {
		pa, pb := a.Project(-1, ""), b.Project(-1, "")
		if pa.Project.Name != pb.Project.Name || len(pa.Files) != len(pb.Files) {
			t.Fatalf("project %d differs between two generators with one seed", i)
		}
		n := pa.Project.Normalized
		if !index.ValidName(pa.Project.Name) || index.Normalize(pa.Project.Name) != n || seen[n] {
			t.Fatalf("bad or repeated name %q", pa.Project.Name)
		}
		seen[n] = true
		rel := map[int64]index.Release{}
		for _, r := range pa.Releases {
			rel[r.ID] = r
		}
		for _, f := range pa.Files {
			if _, ok := rel[f.ReleaseID]; !ok {
				t.Fatalf("%s: file %s has no release", n, f.Filename)
			}
			if err := index.CheckUploadFilename(f.Filename); err != nil {
				t.Errorf("%s: %v", f.Filename, err)
			}
			if f.Size != int64(len(Content(f.Filename))) || f.Path != datadir.PackagePath(f.Blake2b256, f.Filename) {
				t.Errorf("%s: size or path does not match its content", f.Filename)
			}
			if (f.Type == index.Wheel) != (f.MetadataSHA256 != "") {
				t.Errorf("%s: metadata hash %q for type %s", f.Filename, f.MetadataSHA256, f.Type)
			}
		}
		total += len(pa.Files)
		most = max(most, len(pa.Files))
	}
	// Long-tailed: most projects are small, a few are large.
	if mean := float64(total) / 2000; mean < 1.5 || mean > 20 || most < 50 {
		t.Errorf("file counts: mean %.1f, largest %d; want a long tail", mean, most)
	}
	if st := a.Project(10000, "bench-10000"); len(st.Files) != 10000 || st.Project.Name != "bench-10000" {
		t.Errorf("fixed project: %d files, name %q", len(st.Files), st.Project.Name)
	}
}

// Releases get summaries that vary between projects and are the same for
// the same project, whatever else the generator drew.
func TestSummaries(t *testing.T) {
	t.Parallel()
	g := New(3, Dist{Fixed: 40}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	seen := map[string]bool{}
	for range 200 {
		st := g.Project(-1, "")
		for i, r := range st.Releases {
			k := 0 // every eighth release changes the summary
			if i >= 7 {
				k = i - (i-7)%8
			}
			if r.Metadata.Summary == "" || r.Metadata.Summary != Summary(st.Project.Name, k) {
				t.Fatalf("%s %s: summary %q", st.Project.Name, r.Version, r.Metadata.Summary)
			}
			seen[r.Metadata.Summary] = true
		}
	}
	if len(seen) < 150 {
		t.Errorf("only %d different summaries in 200 projects", len(seen))
	}
}
