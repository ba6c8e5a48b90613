package scrypt

import (
	"syscall"
	"unsafe"
)

// hugePage is the size of an x86-64 / arm64 transparent huge page.
const hugePage = 2 << 20

// madvise advice the syscall package does not name.
const (
	madvHugepage      = 14 // MADV_HUGEPAGE
	madvPopulateWrite = 23 // MADV_POPULATE_WRITE (Linux 5.14)
)

// prefaultChunk is how much memory one MADV_POPULATE_WRITE call faults in.
const prefaultChunk = 4 * hugePage

// workArea returns n zeroed uint32s in an anonymous mapping aligned to a huge
// page and advised MADV_HUGEPAGE, and the function that unmaps it. A goroutine
// faults the pages in ahead of their first use (MADV_POPULATE_WRITE, which
// never touches their contents), so the kernel's zeroing of them runs on
// another core while smix's first loop fills them. If the mapping fails it
// falls back to the Go heap.
func workArea(n int) ([]uint32, func()) {
	size := (n*4 + hugePage - 1) &^ (hugePage - 1)
	m, err := syscall.Mmap(-1, 0, size+hugePage, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]uint32, n), func() {}
	}
	off := (hugePage - int(uintptr(unsafe.Pointer(&m[0]))%hugePage)) % hugePage
	area := m[off : off+size]
	// Only advice: without transparent huge pages the area is used as it is.
	_ = syscall.Madvise(area, madvHugepage)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < size; i += prefaultChunk {
			if syscall.Madvise(area[i:min(i+prefaultChunk, size)], madvPopulateWrite) != nil {
				return // an older kernel: the pages fault in on first use
			}
		}
	}()
	release := func() {
		<-done
		_ = syscall.Munmap(m)
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&area[0])), n), release
}
