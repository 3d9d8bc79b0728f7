// Command hookstack is Hookstack's CLI: the local dev server and the tools
// to send, inspect and operate webhooks locally and in AWS.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot(os.Getenv).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "hookstack:", err)
		os.Exit(1)
	}
}
