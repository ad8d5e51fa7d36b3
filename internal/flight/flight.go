// Package flight shares one piece of work among every caller that needs it
// while it runs: the first caller starts it, later callers join, and each
// waits only as long as its own context allows. The work itself belongs to
// no caller, so one that gives up never fails it for the others.
//
// A Call is started and looked up under its owner's mutex (the owner decides
// when a new call may begin: cooldowns, pacing); this package holds only the
// rendezvous.
package flight

import "context"

// Call is one piece of work in flight and, once done, its result.
type Call[T any] struct {
	done chan struct{}
	val  T
	err  error
}

// New returns a Call that is in flight until [Call.Finish].
func New[T any]() *Call[T] { return &Call[T]{done: make(chan struct{})} }

// Finish records the result and releases every waiter. It must be called
// exactly once.
func (c *Call[T]) Finish(val T, err error) {
	c.val, c.err = val, err
	close(c.done)
}

// Done is closed when the call has finished.
func (c *Call[T]) Done() <-chan struct{} { return c.done }

// Wait returns the call's result, or ctx's error if ctx ends first.
func (c *Call[T]) Wait(ctx context.Context) (T, error) {
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// Result returns the result of a finished call; ok is false while it runs.
func (c *Call[T]) Result() (val T, err error, ok bool) {
	select {
	case <-c.done:
		return c.val, c.err, true
	default:
		var zero T
		return zero, nil, false
	}
}
