// The service worker: keeps the pages themselves (the page, its script and styles) so the
// grid-work pages open without a network; the API is never cached — writes wait in the
// pages' own outbox (IndexedDB) instead. The cache is named after the build (build.mjs), so
// a new release replaces the old copies.
const CACHE = "wuzhi-pages-__VERSION__";
const SHELL = ["/", "/ui/app.js", "/ui/app.css"];

self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (e) => {
  e.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("wuzhi-pages-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

// The network first (a new release is seen at once), the kept copy when there is none.
self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== "GET" || url.origin !== location.origin) return;
  const page = e.request.mode === "navigate" && url.pathname === "/";
  if (!page && !SHELL.includes(url.pathname)) return;
  const key = page ? "/" : url.pathname;
  e.respondWith(
    fetch(e.request)
      .then((r) => {
        if (r.ok) {
          const copy = r.clone();
          caches.open(CACHE).then((c) => c.put(key, copy));
        }
        return r;
      })
      .catch(() => caches.match(key).then((r) => r || Response.error())),
  );
});
