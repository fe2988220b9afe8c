//! The filters' heap: power-of-two size classes with a free list each, carved from pages taken
//! with `memory.grow`; blocks above 64 KiB (or more strictly aligned than 16) are whole pages,
//! reused only for the same page count. Every function here is small on purpose: wasi-libc's
//! dlmalloc compiles to one wasm function so large that the JVM proxy-wasm host never
//! JIT-compiles it, and a request makes dozens of allocations. A proxy-wasm VM is
//! single-threaded, so there is no locking.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::UnsafeCell;
use core::ptr::null_mut;

const PAGE: usize = 65536;
const SMALLEST: usize = 16;
const CLASSES: usize = 13; // 16 B, 32 B, ... 64 KiB
const LARGEST: usize = SMALLEST << (CLASSES - 1);
const SMALL_ALIGN: usize = 16;

struct Heap {
    free: [usize; CLASSES],
    bump: usize,
    end: usize,
    /// Free page runs: each starts with [next run, page count].
    free_pages: usize,
}

pub struct FilterHeap(UnsafeCell<Heap>);

// SAFETY: a proxy-wasm VM runs one thread; the heap is never shared across threads.
unsafe impl Sync for FilterHeap {}

impl FilterHeap {
    pub const fn new() -> FilterHeap {
        FilterHeap(UnsafeCell::new(Heap {
            free: [0; CLASSES],
            bump: 0,
            end: 0,
            free_pages: 0,
        }))
    }
}

fn is_small(layout: &Layout) -> bool {
    layout.size() <= LARGEST && layout.align() <= SMALL_ALIGN
}

/// Class index: 0 for up to 16 bytes, 1 for up to 32, ...
fn class_of(size: usize) -> usize {
    let size = if size < SMALLEST { SMALLEST } else { size };
    let bits = (usize::BITS - (size - 1).leading_zeros()) as usize;
    bits - 4
}

fn pages_for(size: usize) -> usize {
    (size + PAGE - 1) / PAGE
}

/// Fresh pages from the engine, or None when memory cannot grow.
fn grow(pages: usize) -> Option<usize> {
    let previous = wasm32::memory_grow(0, pages);
    if previous == usize::MAX {
        None
    } else {
        Some(previous * PAGE)
    }
}

impl Heap {
    fn alloc_small(&mut self, class: usize) -> *mut u8 {
        let head = self.free[class];
        if head != 0 {
            // SAFETY: a free block holds the address of the next free block in its first word.
            self.free[class] = unsafe { *(head as *const usize) };
            return head as *mut u8;
        }
        let size = SMALLEST << class;
        if self.end - self.bump < size {
            let pages = pages_for(size).max(4);
            match grow(pages) {
                Some(start) => {
                    if start != self.end {
                        self.bump = start;
                    }
                    self.end = start + pages * PAGE;
                }
                None => return null_mut(),
            }
        }
        let block = self.bump;
        self.bump += size;
        block as *mut u8
    }

    fn free_small(&mut self, block: *mut u8, class: usize) {
        // SAFETY: the block is at least 16 bytes and 16-aligned; its first word links the list.
        unsafe { *(block as *mut usize) = self.free[class] };
        self.free[class] = block as usize;
    }

    fn alloc_pages(&mut self, pages: usize) -> *mut u8 {
        let mut previous: *mut usize = &mut self.free_pages;
        let mut run = self.free_pages;
        while run != 0 {
            // SAFETY: free runs start with [next, page count].
            let (next, count) = unsafe { (*(run as *const usize), *((run as *const usize).add(1))) };
            if count == pages {
                unsafe { *previous = next };
                return run as *mut u8;
            }
            previous = run as *mut usize;
            run = next;
        }
        match grow(pages) {
            Some(start) => start as *mut u8,
            None => null_mut(),
        }
    }

    fn free_pages(&mut self, run: *mut u8, pages: usize) {
        let words = run as *mut usize;
        // SAFETY: the run is at least one page.
        unsafe {
            *words = self.free_pages;
            *words.add(1) = pages;
        }
        self.free_pages = run as usize;
    }
}

unsafe impl GlobalAlloc for FilterHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let heap = &mut *self.0.get();
        if is_small(&layout) {
            heap.alloc_small(class_of(layout.size()))
        } else if layout.align() <= PAGE {
            heap.alloc_pages(pages_for(layout.size()))
        } else {
            null_mut()
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        let heap = &mut *self.0.get();
        if is_small(&layout) {
            heap.free_small(block, class_of(layout.size()))
        } else {
            heap.free_pages(block, pages_for(layout.size()))
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Growing within the same size class keeps the block.
        if is_small(&layout) && new_size <= LARGEST && class_of(layout.size()) == class_of(new_size) {
            return block;
        }
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let moved = self.alloc(new_layout);
        if !moved.is_null() {
            let keep = if layout.size() < new_size {
                layout.size()
            } else {
                new_size
            };
            core::ptr::copy_nonoverlapping(block, moved, keep);
            self.dealloc(block, layout);
        }
        moved
    }
}
