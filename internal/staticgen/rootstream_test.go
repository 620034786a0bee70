package staticgen

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// streamStore is a fakeStore that also streams the root, as index.Store
// does: rows in byte order of normalized name (unless unordered), each
// handed over in a buffer that is overwritten for the next row, which
// catches a writer that keeps a row's bytes. failAfter >= 0 ends the
// sequence with an error after that many rows.
type streamStore struct {
	fakeStore
	failAfter int
	unordered bool
	streams   int
}

func (s *streamStore) StreamRoot(ctx context.Context, fn func(int64, iter.Seq2[index.RootRow, error]) error) error {
	s.streams++
	projects := slices.Clone(s.root.Projects)
	if !s.unordered {
		slices.SortFunc(projects, func(a, b index.Project) int { return cmp.Compare(a.Normalized, b.Normalized) })
	}
	return fn(s.root.Serial, func(yield func(index.RootRow, error) bool) {
		var name, norm []byte
		for i, p := range projects {
			if i == s.failAfter {
				yield(index.RootRow{}, errors.New("injected: connection lost"))
				return
			}
			// Scribble over the previous row's bytes first.
			for j := range name {
				name[j] = 'X'
			}
			for j := range norm {
				norm[j] = 'X'
			}
			name = append(name[:0], p.Name...)
			norm = append(norm[:0], p.Normalized...)
			if !yield(index.RootRow{Name: name, Normalized: norm, LastSerial: p.LastSerial}, nil) {
				return
			}
		}
	})
}

// The streamed root is byte for byte the rendered one, for every case and
// for a root large enough to be written in several chunks.
func TestStreamRootMatchesRender(t *testing.T) {
	t.Parallel()
	cases := rootCases()
	cases = append(cases, rootCase{name: "large", st: largeRoot(20000)})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			store := &streamStore{fakeStore: fakeStore{root: c.st}, failAfter: -1}
			g, data := newTestGenerator(t, store)
			if err := g.RegenerateRoot(t.Context()); err != nil {
				t.Fatal(err)
			}
			if store.streams != 1 || store.rootCalls.Load() != 0 {
				t.Fatalf("StreamRoot called %d times, LockedRoot %d; want the stream only", store.streams, store.rootCalls.Load())
			}
			simple := filepath.Join(data, "simple")
			checkFile(t, filepath.Join(simple, datadir.HTMLName), render(func(b *bytes.Buffer) { RenderRootHTML(b, c.st) }))
			checkFile(t, filepath.Join(simple, datadir.JSONName), render(func(b *bytes.Buffer) { RenderRootJSON(b, c.st) }))
			checkPageDir(t, simple, datadir.HTMLName, datadir.JSONName)
			if c.name == "large" {
				if fi, _ := os.Stat(filepath.Join(simple, datadir.HTMLName)); fi.Size() < 2*streamChunk {
					t.Fatalf("large root is %d bytes, not several chunks", fi.Size())
				}
			}
		})
	}
}

// A read that fails midway, or rows out of order, publish nothing: the old
// root stays and no temporary file is left.
func TestStreamRootFailurePublishesNothing(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name      string
		failAfter int
		unordered bool
		want      string
	}{
		{"read error", 15000, false, "injected"},
		{"unordered", -1, true, "out of order"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			old := largeRoot(100)
			store := &streamStore{fakeStore: fakeStore{root: old}, failAfter: -1}
			g, data := newTestGenerator(t, store)
			if err := g.RegenerateRoot(t.Context()); err != nil {
				t.Fatal(err)
			}
			simple := filepath.Join(data, "simple")
			wantHTML := render(func(b *bytes.Buffer) { RenderRootHTML(b, old) })

			st := largeRoot(20000)
			if c.unordered {
				slices.Reverse(st.Projects)
			}
			store.mu.Lock()
			store.root, store.failAfter, store.unordered = st, c.failAfter, c.unordered
			store.mu.Unlock()
			err := g.RegenerateRoot(t.Context())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("RegenerateRoot = %v, want an error containing %q", err, c.want)
			}
			checkFile(t, filepath.Join(simple, datadir.HTMLName), wantHTML)
			checkPageDir(t, simple, datadir.HTMLName, datadir.JSONName)
		})
	}
}

// largeRoot is a root of n projects with names of varying length.
func largeRoot(n int) index.RootState {
	st := index.RootState{Serial: int64(n) + 7}
	for i := range n {
		name := strings.Repeat("p", 1+i%7) + "-" + string(rune('a'+i%26)) + strings.Repeat("x", i%3) + "-" + strconv.Itoa(i)
		st.Projects = append(st.Projects, index.Project{Name: strings.ToUpper(name[:1]) + name[1:], Normalized: index.Normalized(name), LastSerial: int64(i)})
	}
	return st
}
