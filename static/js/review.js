// Review: a "select all" box for the entries the reviewer may decide on this page.
// Without JavaScript the box stays hidden and each entry is ticked on its own.
(function () {
  "use strict";
  var wrap = document.querySelector("[data-select-all-wrap]");
  var all = document.querySelector("[data-select-all]");
  if (!wrap || !all) { return; }
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input[data-selectable]"));
  if (!boxes.length) { return; }
  wrap.hidden = false;
  function sync() {
    var ticked = boxes.filter(function (b) { return b.checked; }).length;
    all.checked = ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  }
  all.addEventListener("change", function () {
    boxes.forEach(function (b) { b.checked = all.checked; });
    all.indeterminate = false;
  });
  boxes.forEach(function (b) { b.addEventListener("change", sync); });
  sync();
})();
