// The conditions of the pages' htmx refreshes, as a script: htmx runs hx-trigger filters ("[...]") as
// code built from strings, which the Content-Security-Policy forbids (no 'unsafe-eval').
(function () {
  "use strict";
  function fire(name) { document.dispatchEvent(new CustomEvent(name)); }
  function noGroupOpen() { return !document.querySelector("#failure-groups details[open]"); }
  document.addEventListener("jobdeck:changed", function (event) {
    var run = document.getElementById("jd-run");
    var ids = event.detail && event.detail.run_ids;
    if (run && (!ids || !ids.length || ids.indexOf(run.dataset.runId) >= 0)) fire("jobdeck:run-changed");
    if (document.getElementById("failure-groups") && noGroupOpen()) fire("jobdeck:failures-changed");
  });
  if (document.getElementById("failure-groups")) {
    setInterval(function () { if (noGroupOpen()) fire("jobdeck:failures-tick"); }, 30000);
  }
})();
