package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/sqsq"
	"github.com/hookstack/hookstack/shared/rie"
)

// BenchmarkColdStart measures each built bootstrap under the Runtime
// Interface Emulator: INIT (the emulator's INIT REPORT) and a warm
// invocation, beside the smallest aws-lambda-go function (hello, built from
// shared/rie/testdata/hello by `make bench`). The functions get a complete
// configuration pointing at unreachable addresses: their start-up does no
// network I/O, and the warm invocation is a no-op (an empty batch, a 405).
//
//	make bench   (or: make build-amd64 hello, then
//	HOOKSTACK_LAMBDA_BIN=$PWD/.cache/lambda-amd64 HOOKSTACK_RIE=$PWD/.cache/tools/aws-lambda-rie \
//	go test -run '^$' -bench ColdStart -benchtime 5x ./shared/e2e/)
func BenchmarkColdStart(b *testing.B) {
	env := []string{"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "HOOKSTACK_TABLE=hookstack"}
	for _, q := range envelope.AllQueues {
		for _, name := range []string{q, queue.DLQ(q)} {
			env = append(env, sqsq.EnvVar(name)+"=http://127.0.0.1:9/000000000000/"+name)
		}
	}
	payloads := map[string]string{
		"hello":  `{}`,
		"ingest": `{"version":"2.0","rawPath":"/webhooks/none","requestContext":{"http":{"method":"GET","path":"/webhooks/none"}}}`,
	}
	for _, fn := range []string{"hello", "ingest", "payments", "inventory", "leads", "relay", "fanout", "deliverer"} {
		b.Run(fn, func(b *testing.B) {
			payload := payloads[fn]
			if payload == "" {
				payload = `{"Records":[]}`
			}
			var initTotal, warmTotal time.Duration
			warm := 0
			for b.Loop() {
				f := rie.StartBuilt(b, fn, env)
				if _, err := f.Invoke(b.Context(), []byte(payload)); err != nil && !strings.Contains(err.Error(), "405") {
					b.Fatalf("first invoke: %v\n%s", err, f.Logs())
				}
				d, err := f.InitDuration()
				if err != nil {
					b.Fatal(err)
				}
				initTotal += d
				for range 20 {
					start := time.Now()
					if _, err := f.Invoke(b.Context(), []byte(payload)); err != nil {
						b.Fatal(err)
					}
					warmTotal += time.Since(start)
					warm++
				}
				f.Stop()
			}
			if st, err := os.Stat(filepath.Join(os.Getenv(rie.EnvLambdaBin), fn, "bootstrap")); err == nil {
				b.ReportMetric(float64(st.Size())/(1<<20), "MiB")
			}
			b.ReportMetric(float64(initTotal.Microseconds())/1000/float64(b.N), "init-ms")
			b.ReportMetric(float64(warmTotal.Microseconds())/float64(warm), "warm-µs")
		})
	}
}
