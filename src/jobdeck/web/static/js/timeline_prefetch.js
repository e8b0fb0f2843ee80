// Ask for the timeline now, while the chart library loads; overview.js takes this answer for its first
// draw when it asks for the same view (columns as overview.js counts them). Loaded without `defer`
// right after the timeline's element, so it runs as soon as that element exists.
(function () {
  "use strict";
  var el = document.getElementById("jd-timeline");
  if (!el || !el.dataset.firstUrl) return;
  var w = el.clientWidth || 1000;
  var columns = Math.max(50, Math.min(4000, Math.round(w - (w < 600 ? 110 : 200))));
  var url = el.dataset.firstUrl + "&columns=" + columns;
  window.jobdeckFirstTimeline = { url: url, answer: fetch(url, { headers: { Accept: "application/json" } }) };
})();
