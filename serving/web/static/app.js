/* Symbiose workspace: keeps focus on a card after an action, sends every card answer with an
   Idempotency-Key, queues answers given without network and sends them once it is back, and
   registers the service worker that keeps the last loaded list and account pages for offline
   reading. Works without it too: the forms post normally. */
(function () {
  "use strict";

  var QUEUE = "symbiose.feedback-queue.v1";
  var FEEDBACK_PATH = "/ui/feedback";
  var PAGE_CACHE = "symbiose-pages-v1";
  var body = document.body;
  var texts = readJson(body.getAttribute("data-offline")) || {};
  var pending = new WeakMap();
  var replaying = false;

  function readJson(text) {
    try { return text ? JSON.parse(text) : null; } catch (e) { return null; }
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function csrf() {
    var headers = readJson(body.getAttribute("hx-headers")) || {};
    return headers["X-CSRF-Token"] || "";
  }

  function readQueue() {
    try { return JSON.parse(localStorage.getItem(QUEUE) || "[]"); } catch (e) { return []; }
  }

  function writeQueue(items) {
    if (items.length) { localStorage.setItem(QUEUE, JSON.stringify(items)); }
    else { localStorage.removeItem(QUEUE); }
  }

  function mine(item) { return item.user === texts.user; }

  function say(text) {
    var status = document.getElementById("offline-status");
    if (status) { status.textContent = text; }
  }

  function showPending() {
    var count = readQueue().filter(mine).length;
    if (count && texts.pending) { say(texts.pending.replace("{count}", String(count))); }
  }

  function showOffline() {
    if (navigator.onLine || !texts.banner || document.querySelector(".offline-banner")) { return; }
    var saved = new Date(document.lastModified);
    var banner = document.createElement("p");
    banner.className = "offline-banner";
    banner.textContent = texts.banner.replace("{time}", saved.toLocaleString(document.documentElement.lang));
    var main = document.getElementById("content");
    if (main) { main.insertBefore(banner, main.firstChild); }
  }

  function hideOffline() {
    var banner = document.querySelector(".offline-banner");
    if (banner) { banner.remove(); }
  }

  function isFeedback(detail) {
    return detail && detail.elt && detail.elt.closest && detail.elt.closest("form[hx-post='" + FEEDBACK_PATH + "']");
  }

  function cardOf(elt) { return elt.closest("article.card"); }

  function focusCard(id) {
    var card = id && document.getElementById(id);
    if (!card) { return; }
    card.setAttribute("tabindex", "-1");
    card.focus();
  }

  /* Every card answer carries a fresh key; a replay of the same answer reuses it. */
  body.addEventListener("htmx:configRequest", function (event) {
    var detail = event.detail;
    if (!isFeedback(detail)) { return; }
    var key = newKey();
    detail.headers["Idempotency-Key"] = key;
    var fields = [];
    var data = detail.formData || detail.parameters;
    if (data && data.forEach) {
      data.forEach(function (value, name) { if (name !== "csrf_token") { fields.push([name, String(value)]); } });
    }
    var card = cardOf(detail.elt);
    pending.set(detail.elt, { key: key, path: FEEDBACK_PATH, fields: fields, user: texts.user,
                              card: card ? card.id : null, at: new Date().toISOString() });
  });

  function queue(elt) {
    var item = pending.get(elt);
    if (!item) { return; }
    pending.delete(elt);
    var items = readQueue();
    if (!items.some(function (i) { return i.key === item.key; })) { items.push(item); }
    writeQueue(items);
    var card = item.card && document.getElementById(item.card);
    if (card) {
      card.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      var note = document.createElement("p");
      note.className = "status queued";
      note.setAttribute("role", "status");
      note.textContent = texts.queued || "";
      card.appendChild(note);
      focusCard(card.id);
    }
    showPending();
  }

  body.addEventListener("htmx:beforeRequest", function (event) {
    if (!isFeedback(event.detail)) { return; }
    if (!navigator.onLine) {
      event.preventDefault();
      queue(event.detail.elt);
    }
  });

  body.addEventListener("htmx:sendError", function (event) {
    if (isFeedback(event.detail)) { queue(event.detail.elt); }
  });

  /* After a card is replaced, focus goes to the new card instead of the page's start. */
  body.addEventListener("htmx:afterRequest", function (event) {
    var detail = event.detail;
    if (!isFeedback(detail) || !detail.successful) { return; }
    pending.delete(detail.elt);
  });
  body.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.matches && target.matches("article.card")) { body.dataset.focusCard = target.id; }
  });
  body.addEventListener("htmx:afterSettle", function () {
    var id = body.dataset.focusCard;
    delete body.dataset.focusCard;
    focusCard(id);
  });

  function replaceCard(id, html) {
    var card = id && document.getElementById(id);
    if (!card) { return; }
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    var fresh = template.content.firstElementChild;
    if (!fresh || fresh.id !== id) { return; }
    var hadFocus = card.contains(document.activeElement);
    card.replaceWith(fresh);
    if (window.htmx) { window.htmx.process(fresh); }
    if (hadFocus) { focusCard(id); }
  }

  /* Send queued answers one by one, each with its own key: the server stores each once. */
  async function replay() {
    if (replaying || !navigator.onLine) { return; }
    replaying = true;
    var sent = 0;
    try {
      var items = readQueue().filter(mine);
      for (var i = 0; i < items.length; i++) {
        var item = items[i];
        var response;
        try {
          response = await fetch(item.path, {
            method: "POST", credentials: "same-origin",
            headers: { "Idempotency-Key": item.key, "X-CSRF-Token": csrf(), "HX-Request": "true",
                       "Content-Type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams(item.fields)
          });
        } catch (e) {
          break;  /* still no network: keep the rest */
        }
        if (response.status === 401 || response.status === 403) { break; }  /* sign in again first */
        writeQueue(readQueue().filter(function (q) { return q.key !== item.key; }));
        if (response.ok) {
          sent += 1;
          replaceCard(item.card, await response.text());
        }
      }
    } finally {
      replaying = false;
    }
    if (sent && texts.sent) { say(texts.sent); } else { showPending(); }
    body.dataset.queueReplayed = String(Date.now());
  }
  window.symbioseReplay = replay;

  window.addEventListener("online", function () { hideOffline(); replay(); });
  window.addEventListener("offline", showOffline);

  document.querySelectorAll("form[action='/ui/logout']").forEach(function (form) {
    form.addEventListener("submit", function () {
      if (window.caches) { caches.delete(PAGE_CACHE); }
    });
  });

  if ("serviceWorker" in navigator && texts.user !== undefined) {
    navigator.serviceWorker.register("/ui/sw.js", { scope: "/ui/" }).catch(function () {});
  }
  showOffline();
  showPending();
  replay();
})();
