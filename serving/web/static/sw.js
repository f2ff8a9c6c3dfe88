/* Symbiose workspace service worker (scope /ui/): the last loaded "my accounts" list and account
   pages stay readable without network for a day. Pages always come from the network when it
   answers; their copy is kept (stamped with the time it was saved) and shown only when the
   network does not answer. Nothing is cached for other pages, fragments or any POST, and signing
   out deletes the copies. */
"use strict";

var PAGES = "symbiose-pages-v1";
var MAX_AGE_MS = 24 * 60 * 60 * 1000;
var STATIC = ["/ui/static/app.css", "/ui/static/htmx.min.js", "/ui/static/app.js"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(PAGES).then(function (cache) { return cache.addAll(STATIC); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== PAGES; }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function kept(url, request) {
  if (request.headers.get("HX-Request")) { return false; }  /* fragments differ from pages */
  var path = url.pathname;
  return path === "/ui/" || path.indexOf("/ui/accounts/") === 0 || STATIC.indexOf(path) >= 0;
}

async function stamped(response) {
  var headers = new Headers(response.headers);
  var now = new Date();
  headers.set("Last-Modified", now.toUTCString());
  headers.set("X-Saved-At", String(now.getTime()));
  return new Response(await response.blob(), { status: response.status, statusText: response.statusText,
                                                headers: headers });
}

async function fromNetwork(request) {
  var cache = await caches.open(PAGES);
  try {
    var response = await fetch(request);
    if (response.ok && response.type === "basic" && !response.redirected) {
      await cache.put(request, await stamped(response.clone()));
    } else if (response.type === "opaqueredirect" || response.redirected) {
      await cache.delete(request);  /* signed out or moved: keep no copy */
    }
    return response;
  } catch (error) {
    var copy = await cache.match(request);
    if (copy && Date.now() - Number(copy.headers.get("X-Saved-At") || 0) < MAX_AGE_MS) { return copy; }
    throw error;
  }
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.method === "POST" && url.pathname === "/ui/logout") {
    event.waitUntil(caches.delete(PAGES));
    return;
  }
  if (request.method !== "GET" || !kept(url, request)) { return; }
  event.respondWith(fromNetwork(request));
});
