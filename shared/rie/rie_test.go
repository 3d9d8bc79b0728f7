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
	first, err := f.FirstReportDuration()
	if err != nil || first != 1520*time.Microsecond {
		t.Fatalf("FirstReportDuration = %v, %v; want 1.52ms", first, err)
	}
}

func TestReadersWaitForLateLines(t *testing.T) {
	logWait = 50 * time.Millisecond
	t.Cleanup(func() { logWait = 2 * time.Second })
	tests := []struct {
		name string
		logs string
		late string // written 10ms after the reader starts
		want time.Duration
		ok   bool
	}{
		{name: "already there", logs: "x INIT REPORT(durationMs: 3.5)\n", want: 3500 * time.Microsecond, ok: true},
		{name: "arrives late", late: "x INIT REPORT(durationMs: 4.25)\n", want: 4250 * time.Microsecond, ok: true},
		{name: "incomplete line is not read", logs: "x INIT REPORT(durationMs: 4", late: "2.5)\n", want: 42500 * time.Microsecond, ok: true},
		{name: "never arrives", logs: "x INIT START\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Function{log: &lockedWriter{}}
			_, _ = f.log.Write([]byte(tt.logs))
			if tt.late != "" {
				timer := time.AfterFunc(10*time.Millisecond, func() { _, _ = f.log.Write([]byte(tt.late)) })
				t.Cleanup(func() { timer.Stop() })
			}
			d, err := f.InitDuration()
			if (err == nil) != tt.ok || d != tt.want {
				t.Fatalf("InitDuration = %v, %v; want %v (ok %v)", d, err, tt.want, tt.ok)
			}
		})
	}
}
