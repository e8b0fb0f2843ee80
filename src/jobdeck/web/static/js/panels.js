// The overview's health panels (the seed Grafana board's, so the dashboard needs no Grafana): success
// rate gauge, failures per minute, failure rate by job, execution rate by job, items processed by job
// and duration p50/p95. Every figure comes from the JSON API (stats, jobs, timeseries), read from rollups.
(function () {
  "use strict";
  var root = document.getElementById("jd-panels");
  if (!root || !window.echarts) return;
  var api = root.dataset.api;
  var charts = {};
  // For tests and the console: the charts, and the figures each panel drew (as the API gave them).
  var shown = {};
  window.jobdeckPanels = { charts: charts, shown: shown };
  // The seed board's levels.
  var RATE_BANDS = [90, 95];            // success rate: red below 90 %, amber to 95 %, green above
  var FAIL_LEVELS = [0.1, 1];           // failures per minute: amber above 0.1, red above 1
  var FAIL_RATE_LEVELS = [5, 20];       // failure rate by job: green below 5 %, amber to 20 %, red above
  var DURATION_LEVELS = [300, 600];     // p95 duration: warning at 300 s, critical at 600 s
  var lastQuery = null;

  function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
  function fmtDuration(v) { return window.JobdeckFormat ? window.JobdeckFormat.duration(v) : v + " s"; }
  function round(v, digits) { var f = Math.pow(10, digits); return Math.round(v * f) / f; }
  // A rate with the figures that matter: "12", "1.25", "0.0007" (never a bare "0.00" for a small rate).
  function fmtRate(v) {
    if (v == null) return "—";
    if (v === 0) return "0";
    if (Math.abs(v) >= 100) return String(Math.round(v));
    return String(Number(v.toPrecision(3)));
  }

  // The window [since, until] in ms, from the API query (hours, or since/until): the time axes span it.
  var span = [0, 0];
  function windowOf(query) {
    var p = new URLSearchParams(query);
    var until = p.has("until") ? Date.parse(p.get("until")) : Date.now();
    var since = p.has("since") ? Date.parse(p.get("since")) : until - parseFloat(p.get("hours") || "24") * 3600 * 1000;
    return [since, until];
  }
  // Time-axis labels that say the month with the day ("Nov 5", not a bare "5"), so a 30-day axis reads.
  var TIME_LABELS = { year: "{yyyy}", month: "{MMM} {yyyy}", day: "{MMM} {d}", hour: "{HH}:{mm}", minute: "{HH}:{mm}", second: "{HH}:{mm}:{ss}" };
  function get(path, query, extra) {
    return fetch(api + path + "?" + query + (extra || ""), { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error("the server answered " + r.status);
      return r.json();
    });
  }
  function base() {
    var fg = cssVar("--fg"), muted = cssVar("--muted"), border = cssVar("--border");
    return {
      useUTC: true, animation: false, textStyle: { color: fg },
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
      legend: { top: 0, type: "scroll", textStyle: { color: fg }, pageTextStyle: { color: fg } },
      tooltip: { trigger: "axis", confine: true, backgroundColor: cssVar("--surface"), borderColor: border, textStyle: { color: fg } },
      xAxis: { type: "time", min: span[0], max: span[1], axisLabel: { color: muted, hideOverlap: true, formatter: TIME_LABELS }, axisLine: { lineStyle: { color: border } } },
      yAxis: { type: "value", axisLabel: { color: muted }, splitLine: { lineStyle: { color: border, opacity: 0.6 } } },
    };
  }
  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el) return;
    if (!charts[id]) charts[id] = window.echarts.init(el, null, { renderer: "canvas" });
    charts[id].setOption(option, true);
  }
  function failed(id, err) {
    var el = document.getElementById(id);
    var box = el && el.parentElement.querySelector("[data-chart-error]");
    if (!box) return;
    box.hidden = false;
    box.textContent = "Could not load this panel (" + (err.message || "network error") + ").";
  }
  function cleared(id) {
    var el = document.getElementById(id);
    var box = el && el.parentElement.querySelector("[data-chart-error]");
    if (box) box.hidden = true;
  }
  function tone(value, levels, higherIsBad) {
    var ok = cssVar("--ok"), warn = cssVar("--warn"), bad = cssVar("--bad");
    if (higherIsBad) return value > levels[1] ? bad : value > levels[0] ? warn : ok;
    return value < levels[0] ? bad : value < levels[1] ? warn : ok;
  }
  // Per-minute rates of a counter series: each step's count over the step's minutes.
  function perMinute(points, stepS) {
    return points.map(function (p) { return [p[0] * 1000, round((p[1] || 0) / (stepS / 60), 4)]; });
  }
  function levelLines(levels, names) {
    var colours = [cssVar("--warn"), cssVar("--bad")];
    return { silent: true, symbol: "none", animation: false,
      data: levels.map(function (v, i) {
        return { yAxis: v, name: names[i], lineStyle: { color: colours[i], type: "dashed", width: 1.5 },
          label: { formatter: names[i], color: colours[i], position: "insideEndTop" } };
      }) };
  }

  function gauge(stats) {
    var rate = stats.success_rate;
    shown.success_rate = rate;
    var bad = cssVar("--bad"), warn = cssVar("--warn"), ok = cssVar("--ok"), fg = cssVar("--fg");
    draw("jd-panel-gauge", {
      animation: false,
      series: [{
        type: "gauge", min: 0, max: 100, startAngle: 200, endAngle: -20, radius: "95%", center: ["50%", "60%"],
        axisLine: { lineStyle: { width: 14, color: [[RATE_BANDS[0] / 100, bad], [RATE_BANDS[1] / 100, warn], [1, ok]] } },
        pointer: { show: rate != null, itemStyle: { color: fg }, width: 4 },
        axisTick: { show: false }, splitLine: { length: 10, lineStyle: { color: cssVar("--surface"), width: 2 } },
        axisLabel: { color: cssVar("--muted"), distance: 18, fontSize: 10 },
        title: { show: false },
        detail: { valueAnimation: false, fontSize: 22, color: rate == null ? cssVar("--muted") : tone(rate, RATE_BANDS, false),
          offsetCenter: [0, "35%"], formatter: function () { return rate == null ? "—" : rate.toFixed(1) + " %"; } },
        data: [{ value: rate == null ? 0 : rate, name: "success rate" }],
      }],
    });
  }

  function failuresPerMinute(body, stats) {
    var step = body.step_s, sums = {};
    body.series.forEach(function (s) { s.points.forEach(function (p) { sums[p[0]] = (sums[p[0]] || 0) + (p[1] || 0); }); });
    var points = Object.keys(sums).map(Number).sort(function (a, b) { return a - b; }).map(function (t) { return [t, sums[t]]; });
    var data = perMinute(points, step);
    shown.failures_per_min = { step_s: step, points: data, window: stats.failures_per_min };
    var o = base();
    o.legend = undefined;
    o.grid.top = 16;
    var peak = data.reduce(function (m, p) { return Math.max(m, p[1]); }, 0);
    // Both levels stay in view, so a quiet system shows how far it is from them.
    o.yAxis.max = Math.max(Math.ceil(peak * 1.1 * 10) / 10, 1.2);
    o.yAxis.name = "per min"; o.yAxis.nameTextStyle = { color: cssVar("--muted") };
    o.tooltip.valueFormatter = function (v) { return v == null ? "—" : v + " /min"; };
    o.series = [{ name: "Failures per minute", type: "line", step: "middle", showSymbol: false, data: data,
      color: tone(stats.failures_per_min || 0, FAIL_LEVELS, true), areaStyle: { opacity: 0.15 },
      markLine: levelLines(FAIL_LEVELS, ["0.1/min", "1/min"]) }];
    draw("jd-panel-failures", o);
    var figure = document.getElementById("jd-panel-failures-now");
    if (figure) {
      figure.textContent = fmtRate(stats.failures_per_min || 0) + " /min over the window";
      figure.style.color = tone(stats.failures_per_min || 0, FAIL_LEVELS, true);
      figure.dataset.value = stats.failures_per_min;
    }
  }

  function failureRates(jobs) {
    var rows = jobs.filter(function (j) { return j.failure_rate != null; })
      .sort(function (a, b) { return a.failure_rate - b.failure_rate; });
    shown.failure_rate = {};
    rows.forEach(function (j) { shown.failure_rate[j.job] = j.failure_rate; });
    var o = base();
    o.legend = undefined;
    o.grid.top = 8;
    o.grid.right = 56;  // room for the "100.0 %" label right of a full bar
    o.tooltip = { trigger: "item", confine: true, backgroundColor: cssVar("--surface"), textStyle: { color: cssVar("--fg") },
      formatter: function (p) { return p.name + ": <b>" + p.value.toFixed(1) + " %</b> failed"; } };
    var top = rows.reduce(function (m, j) { return Math.max(m, j.failure_rate); }, 0);
    o.xAxis = { type: "value", min: 0, max: Math.max(25, Math.ceil(top / 5) * 5), axisLabel: { color: cssVar("--muted"), formatter: "{value} %" },
      splitLine: { lineStyle: { color: cssVar("--border"), opacity: 0.6 } } };
    o.yAxis = { type: "category", data: rows.map(function (j) { return j.job; }), axisLabel: { color: cssVar("--fg"), width: 150, overflow: "truncate" } };
    o.series = [{ type: "bar", barMaxWidth: 18, showBackground: true, backgroundStyle: { color: cssVar("--surface-2") },
      label: { show: true, position: "right", color: cssVar("--fg"), formatter: function (p) { return p.value.toFixed(1) + " %"; } },
      data: rows.map(function (j) { return { value: j.failure_rate, itemStyle: { color: tone(j.failure_rate, FAIL_RATE_LEVELS, true) } }; }),
      markLine: { silent: true, symbol: "none", data: FAIL_RATE_LEVELS.map(function (v, i) {
        var c = i ? cssVar("--bad") : cssVar("--warn");
        return { xAxis: v, lineStyle: { color: c, type: "dashed" }, label: { formatter: v + " %", color: c } }; }) } }];
    var el = document.getElementById("jd-panel-failure-rate");
    if (el) el.style.height = Math.max(140, 40 + rows.length * 28) + "px";
    if (charts["jd-panel-failure-rate"]) charts["jd-panel-failure-rate"].resize();
    draw("jd-panel-failure-rate", o);
  }

  function executionRate(body) {
    var step = body.step_s;
    shown.runs_per_min = { step_s: step, series: {} };
    var figures = {};
    var series = body.series.map(function (s) {
      var data = perMinute(s.points, step);
      var values = data.map(function (p) { return p[1]; });
      var mean = values.length ? values.reduce(function (a, b) { return a + b; }, 0) / values.length : 0;
      figures[s.job] = { last: values.length ? values[values.length - 1] : 0, mean: mean };
      shown.runs_per_min.series[s.job] = { points: data, last: figures[s.job].last, mean: figures[s.job].mean };
      return { name: s.job, type: "line", showSymbol: false, data: data };
    });
    var o = base();
    o.legend.formatter = function (name) {
      var f = figures[name];
      return f ? name + "  last " + fmtRate(f.last) + " · mean " + fmtRate(f.mean) : name;
    };
    o.yAxis.name = "runs/min"; o.yAxis.nameTextStyle = { color: cssVar("--muted") };
    o.tooltip.valueFormatter = function (v) { return v == null ? "—" : v + " /min"; };
    o.series = series;
    draw("jd-panel-exec-rate", o);
  }

  function items(jobs) {
    var rows = jobs.filter(function (j) { return j.items_succeeded + j.items_failed + j.items_skipped > 0; });
    shown.items = {};
    rows.forEach(function (j) { shown.items[j.job] = [j.items_succeeded, j.items_failed, j.items_skipped]; });
    var o = base();
    o.tooltip.axisPointer = { type: "shadow" };
    o.xAxis = { type: "value", minInterval: 1, axisLabel: { color: cssVar("--muted") }, splitLine: { lineStyle: { color: cssVar("--border"), opacity: 0.6 } } };
    o.yAxis = { type: "category", data: rows.map(function (j) { return j.job; }), axisLabel: { color: cssVar("--fg"), width: 150, overflow: "truncate" } };
    var kinds = [["Succeeded", "items_succeeded", cssVar("--ok")], ["Failed", "items_failed", cssVar("--bad")], ["Skipped", "items_skipped", cssVar("--run-other")]];
    o.series = kinds.map(function (k) {
      return { name: k[0], type: "bar", stack: "items", barMaxWidth: 18, color: k[2], data: rows.map(function (j) { return j[k[1]]; }) };
    });
    var el = document.getElementById("jd-panel-items");
    var empty = document.getElementById("jd-panel-items-empty");
    if (empty) empty.hidden = rows.length > 0;
    if (el) el.style.height = Math.max(140, 60 + rows.length * 28) + "px";
    if (charts["jd-panel-items"]) charts["jd-panel-items"].resize();
    draw("jd-panel-items", o);
  }

  function durations(p50, p95) {
    shown.duration = { p50: {}, p95: {} };
    var palette = ["#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452", "#9a60b4", "#ea7ccc"];
    var colour = {};
    var series = [];
    [[p50, "p50", "solid"], [p95, "p95", "dashed"]].forEach(function (kind) {
      kind[0].series.forEach(function (s) {
        if (!(s.job in colour)) colour[s.job] = palette[Object.keys(colour).length % palette.length];
        var data = s.points.filter(function (p) { return p[1] != null; }).map(function (p) { return [p[0] * 1000, p[1]]; });
        shown.duration[kind[1]][s.job] = data;
        series.push({ name: s.job + " " + kind[1], type: "line", showSymbol: data.length < 40, symbolSize: 4, data: data,
          color: colour[s.job], lineStyle: { type: kind[2], width: kind[1] === "p95" ? 2 : 1.5 } });
      });
    });
    var o = base();
    o.legend.data = series.filter(function (s) { return / p95$/.test(s.name); }).map(function (s) { return s.name; });
    // A log axis: seconds-long and hour-long jobs both read, and the 300 s and 600 s levels are always drawn.
    var low = Infinity;
    series.forEach(function (s) { s.data.forEach(function (p) { if (p[1] > 0) low = Math.min(low, p[1]); }); });
    o.yAxis.type = "log";
    o.yAxis.min = isFinite(low) ? Math.pow(10, Math.floor(Math.log10(low))) : 1;
    o.yAxis.max = function (v) { return Math.max(v.max * 1.5, 1200); };
    o.yAxis.axisLabel.formatter = function (v) { return fmtDuration(v); };
    o.tooltip.valueFormatter = function (v) { return v == null ? "—" : fmtDuration(v); };
    var levels = { type: "line", name: "levels", data: [], markLine: levelLines(DURATION_LEVELS, ["300 s", "600 s"]) };
    o.series = series.concat([levels]);
    draw("jd-panel-durations", o);
  }

  function load(query) {
    lastQuery = query;
    lastLoad = Date.now();
    span = windowOf(query);
    var seconds = Math.max((span[1] - span[0]) / 1000, 60);
    var step = "&step=" + Math.max(60, Math.ceil(seconds / 60));
    var tasks = [
      ["jd-panel-gauge", Promise.all([get("/stats", query), get("/timeseries", query, "&metric=failures" + step)]).then(function (r) {
        gauge(r[0]); failuresPerMinute(r[1], r[0]);
      })],
      ["jd-panel-failure-rate", get("/jobs", query).then(function (body) { failureRates(body.jobs); items(body.jobs); })],
      ["jd-panel-exec-rate", get("/timeseries", query, "&metric=runs" + step).then(executionRate)],
      ["jd-panel-durations", Promise.all([get("/timeseries", query, "&metric=duration_p50" + step), get("/timeseries", query, "&metric=duration_p95" + step)])
        .then(function (r) { durations(r[0], r[1]); })],
    ];
    root.dataset.state = "loading";
    return Promise.all(tasks.map(function (t) {
      return t[1].then(function () { cleared(t[0]); }, function (e) { failed(t[0], e); });
    })).then(function () { root.dataset.state = "ready"; });
  }

  // A new window or job, Refresh Now and the timed refresh redraw at once. Live changes (several a
  // second on a busy system) redraw at most every LIVE_GAP_MS, after the page's own refresh has gone:
  // these are aggregates over the window, and their five requests should not hold up the tables.
  var LIVE_GAP_MS = 10000, lastLoad = 0, trailing = null;
  function request(query, force) {
    lastQuery = query;
    if (force) {
      clearTimeout(trailing);
      trailing = null;
      load(query);
      return;
    }
    if (trailing) return;
    trailing = setTimeout(function () { trailing = null; load(lastQuery); }, Math.max(500, lastLoad + LIVE_GAP_MS - Date.now()));
  }
  document.addEventListener("jobdeck:refresh", function (e) { request(e.detail.query, e.detail.force); });
  document.addEventListener("jobdeck:theme", function () { if (lastQuery !== null) load(lastQuery); });
  var t = null;
  window.addEventListener("resize", function () { clearTimeout(t); t = setTimeout(function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); }, 150); });
  window.jobdeckPanels.load = load;
  // The timeline is asked for first (timeline_prefetch.js): the panels' six requests wait until its
  // answer is on its way, so the server spends the page's first second on the timeline alone.
  var first = window.jobdeckFirstTimeline;
  var go = function () { if (lastQuery === null) load(root.dataset.apiWindow); };
  if (first && first.answer) first.answer.then(go, go); else go();
})();
