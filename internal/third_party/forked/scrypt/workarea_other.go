//go:build !linux

package scrypt

// workArea returns n zeroed uint32s from the Go heap.
func workArea(n int) ([]uint32, func()) { return make([]uint32, n), func() {} }
