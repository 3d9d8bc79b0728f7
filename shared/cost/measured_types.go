package cost

// MeasuredClass is what TestMeasureWrites measured for one function: the
// DynamoDB writes per unit (a webhook of the processor's class; every
// webhook for the fan-out; a delivery for the deliverer), by item.
type MeasuredClass struct {
	Name     string // a processor's name, "fanout" or "deliverer"
	Per      string // "webhook" or "delivery"
	Messages int    // messages the function handled in the measurement
	Units    int    // webhooks (or deliveries) the figures are divided by
	// Notifications are the events the processor emitted per webhook.
	Notifications float64
	// LogBytes is the function's application log bytes per unit, as
	// CloudWatch Logs ingests them (lines with their EMF metrics and the
	// requestId Lambda's handler adds).
	LogBytes float64
	Writes   []MeasuredWrite
}

// MeasuredWrite is one kind of write: item "<kind> <sk> <operation>",
// "(refused)" for a failed conditional write.
type MeasuredWrite struct {
	Item     string
	PerUnit  float64 // writes per unit
	Bytes    float64 // mean billed size (the larger image), bytes
	TableWRU float64 // table write units per unit
	IndexWRU float64 // gsi1 write units per unit
}

func (c MeasuredClass) tableWRU() float64 {
	t := 0.0
	for _, w := range c.Writes {
		t += w.TableWRU
	}
	return t
}

func (c MeasuredClass) indexWRU() float64 {
	t := 0.0
	for _, w := range c.Writes {
		t += w.IndexWRU
	}
	return t
}

// WRU is the class's write units per unit, table and index.
func (c MeasuredClass) WRU() float64 { return c.tableWRU() + c.indexWRU() }
