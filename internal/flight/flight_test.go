package flight

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// Every waiter gets the one result; a waiter whose context ends leaves
// without affecting the others.
func TestCall(t *testing.T) {
	c := New[int]()
	if _, _, done := c.Result(); done {
		t.Fatal("done before Finish")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	var wg sync.WaitGroup
	got := make([]int, 50)
	for i := range got {
		wg.Go(func() { got[i], _ = c.Wait(context.Background()) })
	}
	c.Finish(7, nil)
	wg.Wait()
	for i, v := range got {
		if v != 7 {
			t.Fatalf("waiter %d got %d", i, v)
		}
	}
	if v, err, done := c.Result(); !done || v != 7 || err != nil {
		t.Fatalf("Result = %d, %v, %v", v, err, done)
	}
}
