// The POS app's service worker: the counter's page and its files kept on the
// device, so a reload with the server out of reach still opens the counter
// (whose writes wait in IndexedDB). The API is never cached: balances and
// answers always come from the server. The version and the list of files
// are filled in at build time (vite.config.ts).
const VERSION = "c23436dcb822";
const SHELL = ["/pos/","/assets/device-BBnjxgQB.css","/assets/device-DoPcTBfx.js","/assets/jsQR-12RQX-bA.js","/assets/pos-B65iTSx2.js","/assets/rolldown-runtime-Dl_DZoUm.js","/assets/staff-C2Y5N3g0.js","/assets/staff-CnsZ1jie.css"];
const CACHE = `stampede-pos-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("stampede-pos-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (event.request.mode === "navigate" && url.pathname.startsWith("/pos/")) {
    // The newest page when the server answers; the kept one when it does not.
    event.respondWith(fetch(event.request).catch(() => caches.match("/pos/")));
    return;
  }
  if (url.pathname.startsWith("/assets/")) {
    // Hashed names: a kept file is the right file.
    event.respondWith(caches.match(event.request).then((hit) => hit ?? fetch(event.request)));
  }
});
