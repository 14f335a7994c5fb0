//! The server's heap. With glibc's allocator, which gives each thread that allocates an
//! arena of its own (up to eight per core) and keeps what is freed in it, resident memory grew
//! by about 40 kB per request served under a steady load and did not come back (`wuzhi bench
//! soak`: anonymous memory 235 → 532 MB over 30,000 requests) — fragmentation, not a leak:
//! with one arena it stayed at 213 MB, but fewer arenas cost intake 15 % (1,700 against 1,990
//! cases a second). So the binary allocates with mimalloc (`main.rs`: level at 230–330 MB in
//! the same soak, intake level with glibc's), and what still goes through glibc (SQLite's page
//! caches, C libraries) is handed back once a minute by `malloc_trim` on a thread of its own,
//! never on the request path. `WUZHI_MALLOC_ARENAS=N` limits glibc's arenas;
//! `WUZHI_HEAP_TUNING=off` leaves glibc alone.

use std::time::Duration;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tame_the_heap(every: Duration) {
    if std::env::var("WUZHI_HEAP_TUNING").is_ok_and(|v| v.trim() == "off") {
        return;
    }
    if let Some(n) =
        std::env::var("WUZHI_MALLOC_ARENAS").ok().and_then(|v| v.trim().parse::<i32>().ok()).filter(|n| *n > 0)
    {
        // SAFETY: `mallopt` is glibc's documented, thread-safe entry point, called before the
        // runtime starts its threads.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, n);
        }
    }
    let _ = std::thread::Builder::new().name("malloc-trim".into()).spawn(move || {
        loop {
            std::thread::sleep(every);
            // SAFETY: as above; `malloc_trim` takes each arena's lock in turn.
            unsafe {
                libc::malloc_trim(0);
            }
        }
    });
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tame_the_heap(_every: Duration) {}
