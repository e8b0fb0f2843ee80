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
  });

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

  function loadTimeline() {
    busy(true);
    return fetch(page.dataset.timelineUrl + "?" + apiParams().toString(), { headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) return r.text().then(function (t) { throw new Error("the server answered " + r.status + (t ? ": " + t.substring(0, 200) : "")); });
        return r.json();
      })
      .then(function (data) {
        tlError.hidden = true;
        timeline.render(data);
        var marks = data.overlaps.length;
        info.textContent = data.runs.length.toLocaleString("en") + " runs across " + data.jobs.length + " jobs · peak " +
          data.max_concurrency + " running at once · " + marks + " overlap region" + (marks === 1 ? "" : "s") + " shaded" +
          (data.truncated ? " · showing the newest " + data.runs.length.toLocaleString("en") + " runs" : "");
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
