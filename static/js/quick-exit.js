// Quick exit: a button and Shift pressed three times replace this page with a
// neutral site and leave nothing to go back to (DOMAIN.md).
(function () {
  "use strict";
  var NEUTRAL = "https://www.weather.gov/";
  function leave(event) {
    if (event) { event.preventDefault(); }
    try { document.body.style.display = "none"; document.title = "Weather"; } catch (e) { /* nothing to hide */ }
    // replace() leaves no entry for this page in the back history.
    window.location.replace(NEUTRAL);
  }
  var presses = 0;
  var timer = null;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Shift" || event.repeat) { return; }
    presses += 1;
    clearTimeout(timer);
    timer = setTimeout(function () { presses = 0; }, 1000);
    if (presses >= 3) { presses = 0; leave(event); }
  });
  document.addEventListener("click", function (event) {
    var target = event.target.closest && event.target.closest("[data-quick-exit]");
    if (target) { leave(event); }
  });
})();
