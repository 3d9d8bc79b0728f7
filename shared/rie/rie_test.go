package rie

import (
	"testing"
	"time"
)

func TestInitDurationReadsTheInitReport(t *testing.T) {
	f := &Function{log: &lockedWriter{}}
	_, _ = f.log.Write([]byte("29 Nov 2026 18:05:57,990 [INFO] (rapid) INIT START(type: on-demand, phase: init)\n" +
		"29 Nov 2026 18:05:58,004 [INFO] (rapid) INIT REPORT(durationMs: 14.005000)\n" +
		"REPORT RequestId: 9c1e\tInit Duration: 0.03 ms\tDuration: 1.52 ms\tBilled Duration: 2 ms\n"))
	d, err := f.InitDuration()
	if err != nil || d != 14005*time.Microsecond {
		t.Fatalf("InitDuration = %v, %v; want 14.005ms", d, err)
	}
	empty := &Function{log: &lockedWriter{}}
	if _, err := empty.InitDuration(); err == nil {
		t.Fatal("want an error without an INIT REPORT")
	}
}
