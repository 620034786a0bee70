package index

// RawFallbacks reports how many page reads did not decode raw values.
func RawFallbacks() int64 { return rawFallbacks.Load() }

// WithoutDetails drops the state's details reader, which no two reads share.
func WithoutDetails(st ProjectState) ProjectState { st.details = nil; return st }
