//! Handing memory freed by passivated actors back to the operating system.
//!
//! glibc's allocator keeps freed memory for reuse; after a million actors
//! passivate, the process would keep the RSS of its busiest moment. The sweeper
//! calls [`release_free_memory`] after a large drop in active actors.
//! [`heap_in_use`] and [`resident_kib`] are for measurements (the memory examples).

/// Return the allocator's free pages to the system (glibc: `malloc_trim`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(unsafe_code, reason = "glibc's malloc_trim has no safe wrapper; it is the one way to return freed heap pages")]
pub fn release_free_memory() {
    // SAFETY: `malloc_trim` has no preconditions: it only walks the
    // allocator's own free lists (under the allocator's locks) and releases
    // whole free pages; no pointer of ours is involved.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators return memory on their own terms: nothing to do.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() {}

/// Bytes the allocator has handed out and not got back (glibc: `mallinfo2`),
/// for measurements: unlike RSS, it falls as soon as memory is freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(unsafe_code, reason = "glibc's mallinfo2 has no safe wrapper")]
pub fn heap_in_use() -> Option<usize> {
    // SAFETY: `mallinfo2` takes no arguments and returns a struct by value; it
    // reads the allocator's statistics under its own locks.
    let info = unsafe { libc::mallinfo2() };
    Some(info.uordblks + info.hblkhd)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn heap_in_use() -> Option<usize> {
    None
}

/// The process's resident set size in KiB, from `/proc/self/status` (0 where
/// there is none), for measurements.
pub fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
