// Live progress on a payout batch that is paying (payments/batch_detail.html).
//
// Every 2 seconds it asks the page's progress URL (JSON) where the batch
// stands, and updates the counts by status and each payment's status in
// place. It stops when the batch is no longer paying and offers a reload for
// the next actions. Without JavaScript the page has a plain Refresh link.
(function () {
  "use strict";
  var INTERVAL_MS = 2000;
  var BACKOFF_MS = 10000;

  function start() {
    var root = document.querySelector("[data-progress-url]");
    if (!root || !window.fetch || !window.JSON) return;
    var url = root.getAttribute("data-progress-url");
    var countsList = root.querySelector("[data-progress-counts]");
    var doneNote = root.querySelector("[data-progress-done]");
    var lastCounts = "";

    function renderCounts(counts) {
      var key = JSON.stringify(counts);
      if (key === lastCounts || !countsList) return;
      lastCounts = key;
      while (countsList.firstChild) countsList.removeChild(countsList.firstChild);
      counts.forEach(function (c) {
        var li = document.createElement("li");
        var pill = document.createElement("span");
        pill.className = "status pay-" + c.status;
        pill.textContent = c.label;
        var n = document.createElement("strong");
        n.textContent = String(c.count);
        li.appendChild(pill);
        li.appendChild(document.createTextNode(" "));
        li.appendChild(n);
        countsList.appendChild(li);
      });
    }

    function renderPayments(payments) {
      var pills = document.querySelectorAll("[data-payment-status]");
      Array.prototype.forEach.call(pills, function (pill) {
        var p = payments[pill.getAttribute("data-payment-status")];
        if (!p || pill.textContent === p.label) return;
        pill.textContent = p.label;
        pill.className = "status pay-" + p.status;
      });
    }

    function renderBatch(data) {
      var pills = document.querySelectorAll("[data-batch-status]");
      Array.prototype.forEach.call(pills, function (pill) {
        if (pill.textContent === data.status_label) return;
        pill.textContent = data.status_label;
        pill.className = "status batch-" + data.status;
      });
    }

    function tick() {
      window
        .fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("progress " + response.status);
          return response.json();
        })
        .then(function (data) {
          renderCounts(data.counts);
          renderPayments(data.payments);
          renderBatch(data);
          if (data.done) {
            if (doneNote) doneNote.hidden = false;
          } else {
            window.setTimeout(tick, INTERVAL_MS);
          }
        })
        .catch(function () {
          // Offline or signed out: try again, more slowly; the Refresh link still works.
          window.setTimeout(tick, BACKOFF_MS);
        });
    }

    window.setTimeout(tick, INTERVAL_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
