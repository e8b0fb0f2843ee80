// A job's page: duration trend, outcomes over time and a duration heatmap, from the chart API.
(function () {
  "use strict";
  var page = document.getElementById("jd-jobpage");
  if (!page || !window.echarts) return;
  var api = page.dataset.api, job = page.dataset.job, windowQuery = page.dataset.apiWindow;
  var charts = {};
  window.jobdeckCharts = charts;  // for tests and the console, like window.jobdeckTimeline
  var fmt = window.JobdeckFormat;

  function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
  var windowS = Math.max((+page.dataset.until - +page.dataset.since) / 1000, 60);
  // Steps wide enough that bars and lines read as a trend: about 60 bars, about 120 line points
  // (the API widens a step to its own ladder: 24 h gives 30-minute bars and 15-minute points).
  var BAR_STEP = Math.max(60, Math.ceil(windowS / 60)), LINE_STEP = Math.max(60, Math.ceil(windowS / 120));
  // About 60 heatmap columns: a job that runs every 15 minutes fills its cells over a day.
  var HEAT_STEP = BAR_STEP;
  var DURATION_STEPS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400];
  // A tick interval in round durations (1 m, 5 m, 1 h…) that gives about five ticks up to `max`.
  function durationInterval(max) {
    var wanted = max / 5;
    for (var i = 0; i < DURATION_STEPS.length; i++) if (DURATION_STEPS[i] >= wanted) return DURATION_STEPS[i];
    return Math.ceil(wanted / 86400) * 86400;
  }
  // Axis labels of round durations, without their zero parts: "30 s", "5 m", "1 h" (not "30.0 s", "5 m 0 s").
  function tick(v) {
    if (v === 0) return "0";
    if (v >= 1 && v < 60 && v === Math.round(v)) return v + " s";
    return fmt.duration(v).replace(/ 0 s$/, "").replace(/ 0 m$/, "").replace(/ 0 h$/, "");
  }

  // Time-axis labels that say the month with the day ("Nov 5", not a bare "5"), so a 30-day axis reads.
  var TIME_LABELS = { year: "{yyyy}", month: "{MMM} {yyyy}", day: "{MMM} {d}", hour: "{HH}:{mm}", minute: "{HH}:{mm}", second: "{HH}:{mm}:{ss}" };
  function get(path, extra) {
    var url = api + path + "?" + windowQuery + "&job=" + encodeURIComponent(job) + (extra || "");
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error("the server answered " + r.status);
      return r.json();
    });
  }
  function points(body) {
    var s = body.series[0];
    return s ? s.points.map(function (p) { return [p[0] * 1000, p[1]]; }) : [];
  }
  function base() {
    var fg = cssVar("--fg"), muted = cssVar("--muted"), border = cssVar("--border");
    return {
      useUTC: true, animation: false,
      textStyle: { color: fg },
      grid: { left: 8, right: 16, top: 36, bottom: 28, containLabel: true },
      legend: { top: 0, textStyle: { color: fg } },
      tooltip: { trigger: "axis", confine: true, backgroundColor: cssVar("--surface"), borderColor: border, textStyle: { color: fg } },
      xAxis: { type: "time", min: +page.dataset.since, max: +page.dataset.until, axisLabel: { color: muted, hideOverlap: true, formatter: TIME_LABELS }, axisLine: { lineStyle: { color: border } } },
      yAxis: { type: "value", axisLabel: { color: muted }, splitLine: { lineStyle: { color: border, opacity: 0.6 } } },
    };
  }
  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el) return;
    if (charts[id]) charts[id].dispose();
    charts[id] = window.echarts.init(el, null, { renderer: "canvas" });
    charts[id].setOption(option);
  }
  function failed(id, err, retry) {
    var el = document.getElementById(id);
    var box = el && el.parentElement.querySelector("[data-chart-error]");
    if (!box) return;
    box.hidden = false;
    box.textContent = "Could not load this chart (" + (err.message || "network error") + "). ";
    var b = document.createElement("button");
    b.type = "button"; b.className = "jd-btn jd-btn--primary"; b.textContent = "Retry";
    b.addEventListener("click", function () { box.hidden = true; retry(); });
    box.appendChild(b);
  }

  function duration() {
    var step = "&step=" + LINE_STEP;
    return Promise.all([get("/timeseries", "&metric=duration_p50" + step), get("/timeseries", "&metric=duration_p95" + step)])
      .then(function (r) {
        var o = base();
        var p50 = points(r[0]), p95 = points(r[1]);
        var max = 0;
        p50.concat(p95).forEach(function (p) { if (p[1] != null && p[1] > max) max = p[1]; });
        o.yAxis.min = 0;
        if (max > 0) {
          // Round ticks up to a round top, so no label crowds the last tick.
          o.yAxis.interval = durationInterval(max);
          o.yAxis.max = Math.ceil(max / o.yAxis.interval) * o.yAxis.interval;
        }
        o.yAxis.axisLabel.formatter = tick;
        o.tooltip.valueFormatter = function (v) { return v == null ? "—" : fmt.duration(v); };
        var few = p95.filter(function (p) { return p[1] != null; }).length < 60;
        // p95 is dashed, so the two lines differ by more than their colour.
        o.series = [
          { name: "p50", type: "line", showSymbol: few, symbolSize: 5, connectNulls: true, data: p50, lineStyle: { width: 2 }, color: cssVar("--run-running") },
          { name: "p95", type: "line", showSymbol: few, symbol: "rect", symbolSize: 5, connectNulls: true, data: p95, lineStyle: { width: 2, type: "dashed" }, color: cssVar("--run-succeeded") },
        ];
        draw("jd-chart-duration", o);
      }).catch(function (e) { failed("jd-chart-duration", e, duration); });
  }
  function outcomes() {
    var step = "&step=" + BAR_STEP;
    return Promise.all([get("/timeseries", "&metric=runs" + step), get("/timeseries", "&metric=failures" + step)])
      .then(function (r) {
        var runs = points(r[0]), failures = points(r[1]);
        var fails = {};
        failures.forEach(function (p) { fails[p[0]] = p[1] || 0; });
        var o = base();
        o.yAxis.minInterval = 1;  // counts: no 0.5 runs
        o.tooltip.axisPointer = { type: "shadow" };
        o.series = [
          { name: "Succeeded or other", type: "bar", stack: "runs", color: cssVar("--run-succeeded"),
            data: runs.map(function (p) { return [p[0], Math.max((p[1] || 0) - (fails[p[0]] || 0), 0)]; }) },
          { name: "Failed", type: "bar", stack: "runs", color: cssVar("--run-failed"), data: failures },
        ];
        draw("jd-chart-outcomes", o);
      }).catch(function (e) { failed("jd-chart-outcomes", e, outcomes); });
  }
  function heatmap() {
    return get("/heatmap", "&step=" + HEAT_STEP).then(function (h) {
      var o = base();
      var labels = h.rows.map(function (r) { return fmt.duration(r[0]) + "–" + fmt.duration(r[1]); });
      var max = 1;
      h.cells.forEach(function (c) { max = Math.max(max, c[2]); });
      o.tooltip = { trigger: "item", confine: true, backgroundColor: cssVar("--surface"), textStyle: { color: cssVar("--fg") },
        formatter: function (p) { return fmt.time(p.value[0]) + "<br>" + labels[p.value[1]] + ": <b>" + p.value[2] + "</b> runs"; } };
      o.legend = undefined;
      o.grid.top = 12; o.grid.bottom = 64;
      o.yAxis = { type: "category", data: labels, axisLabel: { color: cssVar("--muted") } };
      o.xAxis.type = "time";
      o.visualMap = { min: 0, max: max, calculable: true, orient: "horizontal", left: "center", bottom: 0, itemHeight: 120,
        textStyle: { color: cssVar("--fg") },
        // One hue from faint to strong: more runs, stronger colour (every cell drawn has at least one run).
        inRange: { color: cssVar("--heatmap").split(/\s*,\s*/) } };
      var step = h.step_s * 1000;
      o.series = [{ type: "custom", data: h.cells.map(function (c) { return [c[0] * 1000, c[1], c[2]]; }),
        encode: { x: 0, y: 1 },
        renderItem: function (params, api) {
          var a = api.coord([api.value(0), api.value(1)]);
          var b = api.coord([api.value(0) + step, api.value(1)]);
          var hgt = api.size([0, 1])[1];
          return { type: "rect", shape: { x: a[0], y: a[1] - hgt / 2, width: Math.max(b[0] - a[0], 1), height: hgt },
            style: { fill: api.visual("color") } };
        } }];
      o.visualMap.dimension = 2;
      draw("jd-chart-heatmap", o);
    }).catch(function (e) { failed("jd-chart-heatmap", e, heatmap); });
  }
  function all() { duration(); outcomes(); heatmap(); }

  page.addEventListener("click", function (e) {
    var row = e.target.closest("tr[data-href]");
    if (row && !e.target.closest("a, button")) window.location.href = row.dataset.href;
  });
  // Live changes: redraw the charts and, when the newest runs are showing, reload them (a later page
  // stays put, so what one is reading does not move). At most every 2 s on a busy system.
  function onChange() {
    all();
    var chip = document.querySelector('#jd-job-runs-body [data-first-page="true"] .jd-chip[aria-current]');
    if (window.htmx && chip) {
      window.htmx.ajax("GET", chip.getAttribute("hx-get"), { target: "#jd-job-runs-body", swap: "innerHTML" });
    }
  }
  if (window.JobdeckLive) window.JobdeckLive.onChange(onChange, 2000);
  document.addEventListener("jobdeck:theme", all);
  var t = null;
  window.addEventListener("resize", function () { clearTimeout(t); t = setTimeout(function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); }, 150); });
  all();
})();
