// Ask for the timeline as soon as the page's head is read, while the rest of the page, its styles and the
// chart library load: overview.js takes this answer for its first draw when it asks for the same view.
// The chart's width is not laid out yet, so it is estimated from the viewport by the page's layout
// (app.css: .jd-main at most 1600 px wide with a padding of clamp(.75rem, 3vw, 1.5rem), the panel's own
// padding and border 34 px); overview.js takes the answer only when its pixel columns are within 3 % of
// the chart's real ones, and asks again otherwise.
(function () {
  "use strict";
  var script = document.currentScript;
  var first = script && script.dataset.firstUrl;
  if (!first) return;
  var vw = document.documentElement.clientWidth || window.innerWidth || 1000;
  var pad = Math.min(24, Math.max(12, vw * 0.03));
  var w = Math.min(vw, 1600) - 2 * pad - 34;
  var columns = Math.max(50, Math.min(4000, Math.round(w - (w < 600 ? 110 : 200))));
  var url = first + "&columns=" + columns;
  window.jobdeckFirstTimeline = { url: url, answer: fetch(url, { headers: { Accept: "application/json" } }) };
})();
