// Quick exit (DOMAIN.md): the "Exit this page" button, or Shift pressed three
// times within a second, replaces this page with a neutral website.
//
// - location.replace() leaves no entry for this page in the back history.
// - Earlier Honora pages of the same tab cannot be removed from the history,
//   so the tab remembers the exit (sessionStorage, this tab only): a Honora
//   page reached afterwards with Back or Forward replaces itself with the
//   neutral site before it is drawn. Opening Honora afresh clears the mark.
// - A signed-in person is also signed out: a beacon posts to sign-out (with
//   the page's CSRF token) as the page leaves, so the session is gone and
//   opening Honora again asks for sign-in.
// - Without JavaScript the button is a plain link to the same site.
//
// Loaded in <head> without defer, so the check runs before the page shows.
(function () {
  "use strict";
  var FALLBACK = "https://www.weather.gov/";
  var KEY = "honora.exited";
  var WINDOW_MS = 1000;

  function neutralUrl() {
    var link = document.querySelector && document.querySelector("[data-quick-exit]");
    return (link && link.href) || FALLBACK;
  }

  function remember() {
    try { window.sessionStorage.setItem(KEY, "1"); } catch (e) { /* storage off: nothing to remember */ }
  }

  function exited() {
    try { return window.sessionStorage.getItem(KEY) === "1"; } catch (e) { return false; }
  }

  function forget() {
    try { window.sessionStorage.removeItem(KEY); } catch (e) { /* nothing to forget */ }
  }

  function hide() {
    try {
      document.documentElement.style.visibility = "hidden";
      document.title = "\u00a0";
    } catch (e) { /* nothing to hide yet */ }
  }

  // Sign out without waiting: a beacon is sent even as the page goes away.
  function endSession() {
    try {
      var meta = document.querySelector('meta[name="csrf-token"]');
      if (!meta || !navigator.sendBeacon) { return; }
      var data = new FormData();
      data.append("csrfmiddlewaretoken", meta.getAttribute("content"));
      navigator.sendBeacon(meta.getAttribute("data-logout-url") || "/accounts/logout/", data);
    } catch (e) { /* leaving matters more than signing out */ }
  }

  function leave(event) {
    if (event && event.preventDefault) { event.preventDefault(); }
    remember();
    hide();
    endSession();
    window.location.replace(neutralUrl());
  }

  function cameBackByHistory() {
    try {
      var nav = window.performance.getEntriesByType("navigation")[0];
      if (nav) { return nav.type === "back_forward"; }
    } catch (e) { /* older browser: fall through */ }
    return !!(window.performance && window.performance.navigation &&
      window.performance.navigation.type === 2);
  }

  // 1. Reached with Back or Forward after an exit: leave again at once.
  if (exited()) {
    if (cameBackByHistory()) {
      hide();
      endSession(); // in case the first sign-out did not get through
      window.location.replace(FALLBACK);
      return;
    }
    forget(); // opened afresh on purpose
  }
  // A page restored from the back-forward cache runs no script but this event.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && exited()) { hide(); endSession(); window.location.replace(neutralUrl()); }
  });

  // 2. The button.
  document.addEventListener("click", function (event) {
    var target = event.target && event.target.closest && event.target.closest("[data-quick-exit]");
    if (target) { leave(event); }
  });

  // 3. Shift three times within a second. Shift held for a capital letter does
  //    not count, and any other key starts the count again.
  var presses = [];
  var lastWasModified = false;
  document.addEventListener("keyup", function (event) {
    if (event.key === "Shift" && !lastWasModified) {
      var now = Date.now();
      presses.push(now);
      presses = presses.filter(function (t) { return now - t <= WINDOW_MS; });
      if (presses.length >= 3) {
        presses = [];
        leave(event);
      }
    } else if (event.key !== "Shift") {
      presses = [];
    }
    lastWasModified = event.key !== "Shift" && event.shiftKey;
  });
})();
