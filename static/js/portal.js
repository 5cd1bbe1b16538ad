// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // After a form comes back with errors, move focus to the summary of what to fix,
  // so keyboard and screen-reader users start there (its links lead to each field).
  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }
})();
