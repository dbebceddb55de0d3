//! Handing memory freed by passivated actors back to the operating system.
//!
//! glibc's allocator keeps freed memory for reuse; after a million actors
//! passivate, the process would keep the RSS of its busiest moment. The sweeper
//! calls [`release_free_memory`] after a large drop in active actors, and
//! [`fix_allocator_thresholds`] (once, when the runtime starts, and when the
//! server starts, whatever its engine: password hashes free 19 MiB blocks
//! too) makes sure there is something to hand back.
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

/// Allocations at least this large get their own mapping. glibc's starting
/// value, kept from rising.
pub const MMAP_THRESHOLD: usize = 128 * 1024;

/// Free memory at the top of an arena beyond this goes back to the system
/// when it is freed. glibc's starting value, kept from rising.
pub const TRIM_THRESHOLD: usize = 128 * 1024;

/// Keep glibc's mmap and trim thresholds at fixed values, process-wide (once).
///
/// glibc raises both each time a large mapped block is freed (the registry's
/// table, grown to a million entries and shrunk again, is such a block), up to
/// 32 and 64 MiB. `malloc_trim` releases free pages inside an arena but not
/// the free space at the top of a thread's arena: that goes back only when a
/// free leaves more than the trim threshold there. After a million actors
/// passivated, the tops of two threads' arenas kept 38 MiB resident (RSS +129% of
/// the start); with these two values fixed, +9.5–13.5% over three runs
/// (1,000,000 activations, `actor_memory`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(unsafe_code, reason = "glibc's mallopt has no safe wrapper")]
pub fn fix_allocator_thresholds() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for (param, value) in [(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD), (libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD)] {
            let value = libc::c_int::try_from(value).unwrap_or(libc::c_int::MAX);
            // SAFETY: `mallopt` takes two integers and only sets the
            // allocator's parameters (under its own lock); it returns 0 for a
            // value it refuses, which leaves glibc's defaults: no harm.
            if unsafe { libc::mallopt(param, value) } == 0 {
                tracing::warn!(param, value, "glibc refused an allocator threshold");
            }
        }
    });
}

/// Other allocators: nothing to set.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn fix_allocator_thresholds() {}

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
