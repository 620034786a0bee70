package repair_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/repair"
)

// batchPages records the batches Regenerate hands it: which names, with
// how many page goroutines each, and how many batches ran at once.
type batchPages struct {
	mu        sync.Mutex
	names     []index.Normalized
	ioWorkers []int
	running   int
	maxAtOnce int
}

func (p *batchPages) RegenerateProjects(ctx context.Context, names []index.Normalized, workers int) error {
	p.mu.Lock()
	p.names = append(p.names, names...)
	p.ioWorkers = append(p.ioWorkers, workers)
	p.running++
	p.maxAtOnce = max(p.maxAtOnce, p.running)
	p.mu.Unlock()
	// The first batch waits (bounded) for a second to start, so that the
	// batches overlap however slowly the goroutines get going.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		p.mu.Lock()
		overlapped := p.maxAtOnce > 1 || len(p.ioWorkers) > 1
		p.mu.Unlock()
		if overlapped {
			break
		}
	}
	p.mu.Lock()
	p.running--
	p.mu.Unlock()
	return nil
}

func (p *batchPages) RegenerateProject(context.Context, index.Normalized) error {
	return fmt.Errorf("a batch-capable Pages got a single rewrite")
}

func (p *batchPages) RegenerateRoot(context.Context) error { return nil }

// PageReaders is what cmd/cheeseshop sizes GOMAXPROCS by for a cold
// rebuild, so it must be the number of page goroutines Regenerate really
// has at once: batches at once times the goroutines of each.
func TestRegenerateBatchesAndPageReaders(t *testing.T) {
	t.Parallel()
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprint("workers=", workers), func(t *testing.T) {
			t.Parallel()
			var want []index.Normalized
			for i := range 3*repair.BatchSize + 7 {
				want = append(want, index.Normalized(fmt.Sprintf("p%05d", i)))
			}
			p := &batchPages{}
			ok, failed, err := repair.Regenerate(context.Background(), p, want, workers, nil, nil)
			if err != nil || ok != len(want) || failed != 0 {
				t.Fatalf("Regenerate = %d, %d, %v; want %d, 0, nil", ok, failed, err, len(want))
			}
			got := slices.Clone(p.names)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("rewrote %d names, want each of %d once", len(got), len(want))
			}
			perBatch := p.ioWorkers[0]
			for _, w := range p.ioWorkers {
				if w != perBatch {
					t.Fatalf("page goroutines per batch differ: %v", p.ioWorkers)
				}
			}
			if readers := p.maxAtOnce * perBatch; readers != repair.PageReaders(workers) {
				t.Errorf("%d batches at once × %d page goroutines = %d, PageReaders(%d) = %d",
					p.maxAtOnce, perBatch, readers, workers, repair.PageReaders(workers))
			}
		})
	}
}
