// The overview: filters in the URL, partial refreshes (htmx), the timeline, sorting, wall-screen mode.
(function () {
  "use strict";
  var page = document.getElementById("jd-overview");
  if (!page) return;
  var form = document.getElementById("jd-controls");
  var range = document.getElementById("jd-range");
  var custom = document.getElementById("jd-custom");
  var refreshSelect = document.getElementById("jd-refresh");
  var button = document.getElementById("jd-refresh-now");
  var updated = document.getElementById("jd-updated");
  var body = document.getElementById("jd-overview-body");
  var info = document.getElementById("jd-timeline-info");
  var tlError = document.getElementById("jd-timeline-error");
  var view = page.querySelector('[data-view="simple"]').getAttribute("aria-pressed") === "true" ? "simple" : "advanced";
  // The summary's sort is part of the view: `sort=runs` ascending, `sort=-runs` descending.
  var sort = (function () {
    var s = new URLSearchParams(window.location.search).get("sort");
    if (!s || !/^-?[a-z_0-9]{1,30}$/.test(s)) return { key: "job", dir: "ascending" };
    return s.charAt(0) === "-" ? { key: s.slice(1), dir: "descending" } : { key: s, dir: "ascending" };
  })();
  var timer = null, inFlight = 0, pending = false, pendingForce = false;

  var timeline = new window.JobdeckTimeline(document.getElementById("jd-timeline"), {
    onOpen: function (runId) { window.location.href = page.dataset.runUrl + encodeURIComponent(runId); },
    // A zoomed range of a window with bucketed lanes: the same view over [start, end] ms.
    fetchRange: function (start, end) {
      var p = apiParams();
      p.delete("hours");
      p.set("since", new Date(start).toISOString());
      p.set("until", new Date(end).toISOString());
      return fetchJson(p);
    },
    onDetail: function (data) { info.textContent = describe(data); },
  });

  // The pixel columns of the chart's plot: the server fits bars and buckets to them.
  function columns() {
    var w = document.getElementById("jd-timeline").clientWidth || 1000;
    return Math.max(50, Math.min(4000, Math.round(w - (w < 600 ? 110 : 200))));
  }
  // The same view as the head's early request (timeline_prefetch.js): the same query but for the pixel
  // columns, which it estimated — within 3 %, the bars and buckets it was answered with fit the chart.
  function sameView(a, b) {
    function parts(u) {
      var q = new URL(u, window.location.href).searchParams;
      var columns = Number(q.get("columns")) || 0;
      q.delete("columns");
      q.sort();
      return { rest: q.toString(), columns: columns };
    }
    var x = parts(a), y = parts(b);
    return x.rest === y.rest && Math.abs(x.columns - y.columns) <= 0.03 * y.columns;
  }
  function fetchJson(p) {
    p.set("columns", String(columns()));
    var url = page.dataset.timelineUrl + "?" + p.toString();
    // The page's head may have asked for this very view already: take its answer once.
    var first = window.jobdeckFirstTimeline;
    window.jobdeckFirstTimeline = null;
    var asked = first && sameView(first.url, url) ? first.answer : fetch(url, { headers: { Accept: "application/json" } });
    return asked
      .then(function (r) {
        if (!r.ok) return r.text().then(function (t) { throw new Error("the server answered " + r.status + (t ? ": " + t.substring(0, 200) : "")); });
        return r.json();
      });
  }
  function plural(n, one, many) { return n.toLocaleString("en") + " " + (n === 1 ? one : many); }
  function span(ms) {
    var s = ms / 1000;
    if (s % 86400 === 0) return s / 86400 + " d";
    if (s % 3600 === 0) return s / 3600 + " h";
    return s / 60 + " min";
  }
  // The line above the timeline: what is drawn, and how — never a silent cut.
  function describe(data) {
    var bucketed = data.jobs.filter(function (j) { return j.detail === "buckets"; }).length;
    var total = data.runs_in_view !== undefined ? data.runs_in_view : data.runs.length;
    var text = plural(total, "run", "runs") + " across " + plural(data.jobs.length, "job", "jobs");
    if (bucketed) {
      text += " · " + plural(bucketed, "busy lane", "busy lanes") + " in " + span(data.step) + " buckets (zoom in for single runs)";
      if (data.busiest !== null && data.busiest !== undefined) text += " · about " + data.busiest + " running at once on average at the busiest";
    }
    if (data.runs.length && data.range === undefined) {
      text += " · peak " + data.max_concurrency + " running at once" + (bucketed ? " in the other lanes" : "");
    }
    var marks = data.overlaps.length + (data.bucket_overlaps || []).length;
    text += " · " + plural(marks, "overlap region", "overlap regions") + " shaded";
    if (data.range) text += " · zoomed in: " + plural(data.rangeRuns || 0, "run", "runs") + " in the range";
    if (data.truncated) text += " · showing the newest " + data.runs.length.toLocaleString("en") + " runs";
    if (data.ghosts && data.ghosts.length) {
      text += " · " + plural(data.ghosts.length, "scheduled firing", "scheduled firings") + " ahead, dashed (p50 bar, p95 whisker)";
    }
    return text;
  }

  function utc(local) { return local ? (local.length === 16 ? local + ":00Z" : local + "Z") : ""; }

  // The view as query parameters; defaults are left out so URLs stay short.
  function params() {
    var p = new URLSearchParams();
    if (range.value === "custom") {
      var from = form.elements.from.value, to = form.elements.to.value;
      if (from) p.set("from", utc(from));
      if (to) p.set("to", utc(to));
    } else if (range.value !== "24") {
      p.set("hours", range.value);
    }
    if (form.elements.job.value) p.set("job", form.elements.job.value);
    if (refreshSelect.value !== "30") p.set("refresh", refreshSelect.value);
    if (view === "simple") p.set("view", "simple");
    if (sort.key !== "job" || sort.dir !== "ascending") p.set("sort", (sort.dir === "descending" ? "-" : "") + sort.key);
    return p;
  }
  function apiParams() {
    var p = params(), out = new URLSearchParams();
    if (p.has("from")) { out.set("since", p.get("from")); if (p.has("to")) out.set("until", p.get("to")); }
    else out.set("hours", p.get("hours") || "24");
    if (p.has("job")) out.set("job", p.get("job"));
    return out;
  }
  function syncUrl() {
    var q = params().toString();
    history.replaceState(null, "", window.location.pathname + (q ? "?" + q : ""));
  }

  function busy(on) {
    inFlight += on ? 1 : -1;
    var b = inFlight > 0;
    button.setAttribute("aria-busy", b ? "true" : "false");
    button.disabled = b;
    button.querySelector(".jd-btn-label").textContent = b ? "Refreshing…" : "Refresh Now";
    if (!b) {
      // "Last updated" tells when the page last got fresh data: a failed refresh leaves it alone.
      if (tlError.hidden && !body.querySelector(".jd-refresh-error")) {
        var now = new Date();
        updated.dateTime = now.toISOString();
        updated.textContent = now.toISOString().substring(11, 19) + " UTC";
      }
      if (pending) { var f = pendingForce; pending = false; pendingForce = false; refresh(f); }
    }
  }

  function showError(target, message, retry) {
    target.hidden = false;
    target.textContent = message + " ";
    var again = document.createElement("button");
    again.type = "button";
    again.className = "jd-btn jd-btn--primary";
    again.textContent = "Retry";
    again.addEventListener("click", retry);
    target.appendChild(again);
  }

  // A window that ends now also shows what is to come: the schedules' next firings as ghost bars,
  // a quarter of the window ahead (15 minutes at least, a day at most). A past window shows none.
  function aheadHours() {
    if (range.value === "custom") return 0;
    return Math.min(24, Math.max(0.25, Number(range.value || "24") / 4));
  }
  function loadPredicted() {
    var hours = aheadHours();
    if (!hours || !page.dataset.predictedUrl) return Promise.resolve(null);
    return fetch(page.dataset.predictedUrl + "?hours=" + hours, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) return null;
        var job = form.elements.job.value;
        var firings = job ? p.firings.filter(function (f) { return f.job === job; }) : p.firings;
        return { firings: firings, until: Date.parse(p.until) };
      })
      .catch(function () { return null; }); // the timeline of what ran still draws
  }

  function loadTimeline() {
    busy(true);
    return Promise.all([fetchJson(apiParams()), loadPredicted()])
      .then(function (answers) {
        var data = answers[0];
        if (answers[1]) { data.predicted = answers[1].firings; data.predicted_until = answers[1].until; }
        tlError.hidden = true;
        timeline.render(data);
        info.textContent = describe(data);
        // When the timeline was first drawn, from the start of the page's load (the benchmarks read it).
        if (window.performance && performance.mark && !performance.getEntriesByName("jobdeck:timeline-drawn").length) {
          performance.mark("jobdeck:timeline-drawn");
        }
      })
      .catch(function (err) {
        // Retry refreshes the whole page's data, so "Last updated" is true of all of it afterwards.
        showError(tlError, "Could not load the timeline (" + (err.message || "network error") + ").", refreshAll);
      })
      .finally(function () { busy(false); });
  }

  function loadBody() {
    if (!window.htmx) return Promise.resolve();
    busy(true);
    return window.htmx.ajax("GET", page.dataset.fragmentUrl + "?" + params().toString(), { target: body, swap: "innerHTML" })
      .finally(function () { busy(false); });
  }

  // `force` (Refresh Now, a new filter, Retry) redraws everything. A timed or live refresh leaves the
  // timeline alone while the pointer is on it, since redrawing takes away the tooltip being read;
  // it catches up as soon as the pointer leaves.
  var timelineEl = document.getElementById("jd-timeline"), timelineStale = false;
  function refresh(force, timed) {
    force = force === true;
    timed = timed === true;
    if (inFlight > 0) { pending = true; pendingForce = pendingForce || force; return; }
    loadBody();
    // The health panels (panels.js) redraw from the API for the same window and job.
    document.dispatchEvent(new CustomEvent("jobdeck:refresh", { detail: { query: apiParams().toString(), force: force || timed } }));
    if (!force && timelineEl.matches(":hover")) { timelineStale = true; return; }
    timelineStale = false;
    loadTimeline();
  }
  function refreshAll() { refresh(true); }
  timelineEl.addEventListener("mouseleave", function () {
    if (!timelineStale) return;
    timelineStale = false;
    if (inFlight === 0) loadTimeline(); else pending = true;
  });

  function schedule() {
    clearInterval(timer);
    var seconds = parseInt(refreshSelect.value, 10);
    if (seconds > 0) timer = setInterval(function () { refresh(false, true); }, seconds * 1000);
  }

  function onFilter(e) {
    custom.hidden = range.value !== "custom";
    Array.prototype.forEach.call(custom.querySelectorAll("input"), function (i) { i.disabled = custom.hidden; });
    if (range.value === "custom" && (!form.elements.from.value || !form.elements.to.value)) return;
    syncUrl();
    schedule();
    // Another window or job: the zoom into the old one means nothing there. A new refresh rate keeps it.
    if (!e || e.target !== refreshSelect) timeline.resetZoom();
    refresh(true);
  }

  // Sorting the summary table (kept across refreshes).
  function applySort() {
    var table = document.getElementById("jd-summary-table");
    if (!table) return;
    var keys = Array.prototype.map.call(table.tHead.rows[0].cells, function (th) { var b = th.querySelector(".jd-sort"); return b && b.dataset.key; });
    var col = keys.indexOf(sort.key);
    if (col < 0) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      if (i === col) th.setAttribute("aria-sort", sort.dir); else th.removeAttribute("aria-sort");
    });
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.sort, y = b.cells[col].dataset.sort;
      var nx = parseFloat(x), ny = parseFloat(y), cmp;
      if (!isNaN(nx) && !isNaN(ny) && String(nx) !== "NaN" && /^-?[\d.e+]+$/.test(x) && /^-?[\d.e+]+$/.test(y)) cmp = nx - ny;
      else cmp = String(x).localeCompare(String(y));
      return sort.dir === "ascending" ? cmp : -cmp;
    });
    rows.forEach(function (r) { table.tBodies[0].appendChild(r); });
  }

  page.addEventListener("click", function (e) {
    var sorter = e.target.closest(".jd-sort");
    if (sorter) {
      sort = { key: sorter.dataset.key, dir: sort.key === sorter.dataset.key && sort.dir === "ascending" ? "descending" : "ascending" };
      applySort();
      syncUrl();
      return;
    }
    // Only the layout buttons: <body> carries data-view too, and would match every click.
    var viewButton = e.target.closest("button[data-view]");
    if (viewButton) {
      view = viewButton.dataset.view;
      document.body.dataset.view = view;
      page.querySelectorAll("button[data-view]").forEach(function (b) { b.setAttribute("aria-pressed", b === viewButton ? "true" : "false"); });
      syncUrl();
      timeline.resize();
      return;
    }
    var retry = e.target.closest("[data-retry]");
    if (retry) { e.preventDefault(); refreshAll(); return; }
    var row = e.target.closest("tr[data-href]");
    if (row && !e.target.closest("a, button")) window.location.href = row.dataset.href;
  });

  form.addEventListener("change", onFilter);
  form.addEventListener("submit", function (e) { e.preventDefault(); refreshAll(); });

  document.body.addEventListener("htmx:afterSwap", function (e) { if (e.detail.target === body) applySort(); });
  function onBodyError(e) {
    if (e.detail.target !== body) return;
    var xhr = e.detail.xhr;
    var box = document.createElement("div");
    box.className = "jd-notice jd-notice--error";
    box.setAttribute("role", "alert");
    body.querySelectorAll(".jd-refresh-error").forEach(function (n) { n.remove(); });
    box.classList.add("jd-refresh-error");
    body.prepend(box);
    showError(box, "Could not refresh: " + (xhr && xhr.status ? "the server answered " + xhr.status : "the server could not be reached") +
      ". Showing what was loaded before.", refreshAll);
  }
  document.body.addEventListener("htmx:responseError", onBodyError);
  document.body.addEventListener("htmx:sendError", onBodyError);

  // Live changes can arrive many times a second on a busy system: refresh at most every 1.5 s, and
  // always once after the last change, so the page is current within about two seconds.
  if (window.JobdeckLive) window.JobdeckLive.onChange(refresh, 1500);
  document.addEventListener("jobdeck:theme", function () { timeline.redraw(); });
  if (window.matchMedia) {
    var mq = window.matchMedia("(prefers-color-scheme: dark)");
    if (mq.addEventListener) mq.addEventListener("change", function () { timeline.redraw(); });
  }
  var resizeTimer = null;
  window.addEventListener("resize", function () { clearTimeout(resizeTimer); resizeTimer = setTimeout(function () { timeline.redraw(); }, 150); });

  window.jobdeckTimeline = timeline;
  document.body.dataset.view = view;
  applySort();
  schedule();
  loadTimeline();
})();
