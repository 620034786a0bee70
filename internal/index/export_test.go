package index

// RawFallbacks reports how many page reads did not decode raw values.
func RawFallbacks() int64 { return rawFallbacks.Load() }
