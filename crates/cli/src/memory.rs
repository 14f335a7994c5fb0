//! The server's heap. glibc's allocator gives each thread that allocates an arena of its own
//! (up to eight per core) and keeps what is freed in it: under a steady load whose work moves
//! between the runtime's threads, resident memory grew by about 40 kB per request served and
//! never came back (`wuzhi bench soak`: anonymous memory 235 → 532 MB over 30,000 requests),
//! while with one arena it stayed at 213 MB — fragmentation, not a leak. So a serving process
//! limits the arenas to two per core and, once a minute, on a thread of its own (never the
//! request path), hands free pages back to the system with `malloc_trim`.
//! `WUZHI_HEAP_TUNING=off` leaves glibc's defaults (for a server run under another allocator,
//! or to compare).

use std::time::Duration;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tame_the_heap(every: Duration) {
    if std::env::var("WUZHI_HEAP_TUNING").is_ok_and(|v| v.trim() == "off") {
        return;
    }
    // SAFETY: `mallopt` and `malloc_trim` are glibc's documented, thread-safe entry points;
    // `mallopt` runs before the runtime starts its threads.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as i32;
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2 * cores);
    }
    let _ = std::thread::Builder::new().name("malloc-trim".into()).spawn(move || {
        loop {
            std::thread::sleep(every);
            // SAFETY: as above.
            unsafe {
                libc::malloc_trim(0);
            }
        }
    });
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tame_the_heap(_every: Duration) {}
