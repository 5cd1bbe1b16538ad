// Keeps a part of a page up to date while something is being prepared in the background
// (payments/statements.html: annual statements rendered by workers).
//
// Each part is marked [data-live-refresh] with an id; while one carries
// data-still-waiting, this fetches the page again every few seconds and swaps in the new
// copy of each part. It stops once no new copy waits. Without JavaScript the page reads the same,
// and a reload shows the news.
(function () {
  "use strict";
  var INTERVAL_MS = 3000;
  var BACKOFF_MS = 15000;

  function start() {
    var parts = document.querySelectorAll("[data-live-refresh][id]");
    if (!parts.length || !window.fetch || !window.DOMParser) return;

    function waiting(root) {
      return root.querySelector("[data-live-refresh][data-still-waiting]") !== null;
    }

    function tick() {
      window
        .fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          if (!response.ok) throw new Error("refresh " + response.status);
          return response.text();
        })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html");
          Array.prototype.forEach.call(parts, function (part) {
            var copy = fresh.getElementById(part.id);
            if (!copy) return;
            if (part.innerHTML !== copy.innerHTML) part.innerHTML = copy.innerHTML;
            if (copy.hasAttribute("data-still-waiting")) {
              part.setAttribute("data-still-waiting", "");
            } else {
              part.removeAttribute("data-still-waiting");
            }
          });
          if (waiting(fresh)) window.setTimeout(tick, INTERVAL_MS);
        })
        .catch(function () {
          window.setTimeout(tick, BACKOFF_MS);
        });
    }

    if (waiting(document)) window.setTimeout(tick, INTERVAL_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
