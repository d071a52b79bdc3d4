// The hub terminal's service worker: keeps the application shell (page, styles, scripts, wasm,
// icon) so the terminal starts without a connection. It never caches anything else: no call to
// the API passes through it (those requests are not intercepted at all), so no credential,
// verdict or recipient can ever land in Cache Storage.

const CACHE = 'lasthop-terminal-shell-v1';
const SHELL = [
  '/terminal',
  '/manifest.webmanifest',
  '/assets/app.css',
  '/assets/common.js',
  '/assets/i18n.js',
  '/assets/terminal.js',
  '/assets/icon.svg',
  '/pkg/lasthop_browser.js',
  '/pkg/lasthop_browser_bg.wasm',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)));
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || !SHELL.includes(url.pathname)) {
    return; // not ours: the browser fetches it as if there were no service worker
  }
  // Network first, so a fixed page reaches the terminal at once; the shell only when offline.
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
        }
        return response;
      })
      .catch(() => caches.match(url.pathname).then((cached) => cached || Response.error())),
  );
});
