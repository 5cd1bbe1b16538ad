// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // After a form comes back with errors, move focus to the summary of what to fix,
  // so keyboard and screen-reader users start there (its links lead to each field).
  // The page's language: Django's JavaScript catalog (/jsi18n/, loaded first) defines
  // gettext(); without it the English source is shown.
  var gettext = typeof window.gettext === "function" ? window.gettext : function (m) { return m; };

  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }

  // A statement being prepared (/me/receipts/): ask every few seconds where it stands,
  // and put the download in place when it is ready. The block is an aria-live region,
  // so the change is announced. Without JavaScript, its "Check now" link reloads.
  var EVERY_MS = 3000;
  var GIVE_UP_AFTER = 100; // about five minutes; the link still works after that
  function poll(block) {
    var url = block.getAttribute("data-statement-poll");
    var tries = 0;
    // After about five minutes the page stops asking, and says so (the region announces it).
    function giveUp() {
      var note = document.createElement("p");
      note.className = "statement-slow";
      note.textContent = gettext("This is taking longer than usual. Please check again in a few minutes.");
      block.appendChild(note);
    }
    function ask() {
      tries += 1;
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (answer) {
          var data = answer && answer.years ? answer.years[String(block.getAttribute("data-statement-year"))] : null;
          if (data && data.state !== "pending") {
            block.innerHTML = data.html;
            block.removeAttribute("data-statement-poll");
            block.setAttribute("data-statement-state", data.state);
            return;
          }
          if (tries < GIVE_UP_AFTER) { window.setTimeout(ask, EVERY_MS); } else { giveUp(); }
        })
        .catch(function () {
          if (tries < GIVE_UP_AFTER) { window.setTimeout(ask, EVERY_MS * 2); } else { giveUp(); }
        });
    }
    window.setTimeout(ask, EVERY_MS);
  }
  var blocks = document.querySelectorAll("[data-statement-poll]");
  for (var i = 0; i < blocks.length; i += 1) { poll(blocks[i]); }
})();
