// The timeline of runs: one swim lane per job, sub-lanes for runs that overlap, shaded overlap regions.
// Drawn on one canvas by ECharts (a custom series), so 10,000 bars cost no DOM nodes. A lane with more
// runs than fit comes from the server in time buckets and is drawn as one shape: the height of each
// bucket is its runs (square root, scaled to the lane's busiest bucket), its red part the failures.
// Zooming into such a lane fetches the zoomed range (options.fetchRange) for single bars.
// A window that ends now may carry `predicted` firings of the schedules (GET /api/v1/overlaps/predicted):
// they are drawn ahead of now as ghost bars — dashed outlines as long as the job's p50, a whisker to
// its p95 — in the job's lane (a lane is added for a scheduled job with no runs in the window).
(function () {
  "use strict";
  var STATUS_VAR = { succeeded: "--run-succeeded", failed: "--run-failed", running: "--run-running", lost: "--run-failed" };

  function cssVar(name, fallback) {
    var v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return v || fallback;
  }
  function palette() {
    return {
      succeeded: cssVar("--run-succeeded", "#7b4fd6"), failed: cssVar("--run-failed", "#d93036"),
      running: cssVar("--run-running", "#2f7de1"), other: cssVar("--run-other", "#8a94a3"),
      overlap: cssVar("--overlap", "rgba(255,166,0,.18)"), mark: cssVar("--overlap-mark", "rgba(230,140,0,.55)"),
      fg: cssVar("--fg", "#1b2230"), muted: cssVar("--muted", "#556070"), border: cssVar("--border", "#d6dbe3"),
      surface: cssVar("--surface", "#fff"), ghost: cssVar("--ghost", "rgba(47,125,225,.22)"),
    };
  }
  function fmtDuration(s) {
    if (s < 1) return Math.round(s * 1000) + " ms";
    if (s < 60) return s.toFixed(1) + " s";
    var m = Math.floor(s / 60), sec = Math.floor(s % 60);
    if (m < 60) return m + " m " + sec + " s";
    var h = Math.floor(m / 60);
    if (h < 24) return h + " h " + (m % 60) + " m";
    return Math.floor(h / 24) + " d " + (h % 24) + " h";
  }
  function fmtTime(ms) { return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC"); }
  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]; });
  }

  function Timeline(el, options) {
    this.el = el;
    this.options = options || {};
    this.chart = null;
    this.data = null;
    this.base = null; // the whole window as the server sent it; `data` may add a zoomed range's detail
    this.detailToken = 0;
  }

  Timeline.prototype.height = function (jobs) {
    var maxLanes = 1;
    jobs.forEach(function (j) { maxLanes = Math.max(maxLanes, j.lanes); });
    this.band = Math.min(96, 30 + 8 * (Math.min(maxLanes, 9) - 1));
    return Math.max(220, jobs.length * this.band + 110);
  };

  // The zoomed range [start, end] in ms, or null when the whole window shows. `atEnd` marks a zoom that
  // reaches the window's end, which follows the newest runs as the window slides.
  Timeline.prototype.zoomRange = function () {
    if (!this.chart) return this.kept || null;
    var z = (this.chart.getOption().dataZoom || [])[0];
    if (!z || (z.start <= 0.01 && z.end >= 99.99)) return null;
    return { start: z.startValue, end: z.endValue, atEnd: z.end >= 99.9 };
  };
  // Forget the zoom (a new time range or job was picked): the next render shows the whole window.
  Timeline.prototype.resetZoom = function () { this.kept = null; this.reset = true; };

  // The axis spans the window; a window ending now reaches to the present (running bars end there),
  // and on to the end of the predicted firings when there are some.
  function axisEnd(data) {
    if (data.until < data.now - 120000) return data.until;
    var end = Math.max(data.until, data.now);
    return data.ghosts && data.ghosts.length && data.predicted_until ? Math.max(end, data.predicted_until) : end;
  }

  // Ghost bars of the predicted firings: [jobIndex, start ms, p50 end ms, p95 end ms, name, estimated].
  function addGhosts(data) {
    if (!data.predicted || !data.predicted.length || data.until < data.now - 120000) { data.ghosts = []; return; }
    var index = {};
    data.jobs.forEach(function (j, i) { index[j.job] = i; });
    data.ghosts = data.predicted.map(function (f) {
      if (index[f.job] === undefined) {
        index[f.job] = data.jobs.length;
        data.jobs.push({ job: f.job, lanes: 1, runs: 0, detail: "runs", scheduled_only: true });
      }
      var at = Date.parse(f.at);
      return [index[f.job], at, at + Math.max(f.p50_s, 1) * 1000, at + Math.max(f.p95_s, f.p50_s, 1) * 1000, f.name, f.estimated];
    });
  }

  function zoomFor(kept, data) {
    if (!kept) return null;
    var lo = data.since, hi = axisEnd(data);
    var start = kept.start, end = kept.end;
    if (kept.atEnd) { start = hi - (end - start); end = hi; }
    start = Math.max(start, lo); end = Math.min(end, hi);
    return end - start > 1000 ? [start, end] : null;
  }

  Timeline.prototype.render = function (data) {
    // Keep what the user zoomed into across refreshes (a live change redraws every few seconds).
    var kept = this.reset ? null : this.zoomRange();
    this.reset = false;
    this.kept = kept;
    if (!data.buckets) data.buckets = [];
    if (!data.bucket_overlaps) data.bucket_overlaps = [];
    addGhosts(data);
    this.base = data;
    this.data = data;
    var el = this.el;
    if (!window.echarts) { el.textContent = "The chart library did not load."; return; }
    if (!data.runs.length && !data.buckets.length && !data.ghosts.length) {
      if (this.chart) { this.chart.dispose(); this.chart = null; }
      el.dataset.state = "empty";
      el.innerHTML = '<p class="jd-muted">No runs started in this time range — nothing to draw. Pick a longer range, or instrument a job with <code>@jobdeck.track</code>.</p>';
      return;
    }
    if (el.dataset.state === "empty") { el.innerHTML = ""; delete el.dataset.state; if (this.chart) { this.chart.dispose(); this.chart = null; } }
    el.style.height = this.height(data.jobs) + "px";
    if (!this.chart) {
      this.chart = window.echarts.init(el, null, { renderer: "canvas" });
      var self = this;
      this.chart.on("click", function (p) {
        if (p.seriesId === "runs" && self.options.onOpen) self.options.onOpen(self.data.runs[p.dataIndex][5]);
      });
      // Busy lanes are one shape each: the pointer's x picks the bucket for the tooltip.
      this.chart.getZr().on("mousemove", function (e) { self.pointer = [e.offsetX, e.offsetY]; });
      this.chart.on("datazoom", function () { self.scheduleDetail(); });
    } else {
      this.chart.resize();
    }
    var option = this.option(data);
    var range = zoomFor(kept, data);
    if (range) option.dataZoom.forEach(function (z) { z.startValue = range[0]; z.endValue = range[1]; });
    this.chart.setOption(option, { notMerge: true });
    this.scheduleDetail();
  };

  // Zoomed into a window that has bucketed lanes: fetch the zoomed range (its own limit) for bars.
  Timeline.prototype.scheduleDetail = function () {
    var self = this;
    clearTimeout(this.detailTimer);
    this.detailTimer = setTimeout(function () { self.loadDetail(); }, 250);
  };
  Timeline.prototype.loadDetail = function () {
    var base = this.base, self = this;
    if (!base || !base.buckets.length || !this.options.fetchRange) return;
    var z = this.zoomRange();
    var token = ++this.detailToken;
    if (!z) { if (this.data !== base) this.show(base); return; }
    var start = Math.floor(z.start), end = Math.ceil(z.end);
    this.el.dataset.detail = "loading";
    this.options.fetchRange(start, end).then(function (detail) {
      if (token !== self.detailToken || self.base !== base) return;
      self.show(merged(base, detail, start, end));
      self.el.dataset.detail = "range";
    }).catch(function () { if (token === self.detailToken) self.el.dataset.detail = "failed"; });
  };
  // Draw `data` (the base or base + detail) keeping the zoom as it is.
  Timeline.prototype.show = function (data) {
    if (!this.chart) return;
    var kept = this.zoomRange();
    this.data = data;
    var option = this.option(data);
    var range = zoomFor(kept, data);
    if (range) option.dataZoom.forEach(function (z) { z.startValue = range[0]; z.endValue = range[1]; });
    this.chart.setOption(option, { notMerge: true });
    if (this.options.onDetail) this.options.onDetail(data);
  };

  // The base window with a zoomed range's data in place of its bucketed lanes' buckets in [start, end].
  function merged(base, detail, start, end) {
    var index = {};
    base.jobs.forEach(function (j, i) { index[j.job] = i; });
    var bucketed = {}, jobs = base.jobs.map(function (j) { return Object.assign({}, j); });
    base.jobs.forEach(function (j, i) { if (j.detail === "buckets") bucketed[i] = true; });
    var map = detail.jobs.map(function (j) { var i = index[j.job]; return i !== undefined && bucketed[i] ? i : -1; });
    detail.jobs.forEach(function (j, k) { if (map[k] >= 0) { jobs[map[k]].lanes = j.lanes; jobs[map[k]].zoomed = j.detail; } });
    var out = Object.assign({}, base, { jobs: jobs, range: [start, end], rangeRuns: detail.runs_in_view });
    // A bucketed lane's buckets that meet the range give way to the range's own data.
    out.buckets = base.buckets.filter(function (b) { return !bucketed[b[0]] || b[2] <= start || b[1] >= end; });
    out.runs = base.runs.slice();
    detail.runs.forEach(function (r) { if (map[r[0]] >= 0) out.runs.push([map[r[0]]].concat(r.slice(1))); });
    out.overlaps = base.overlaps.slice();
    detail.overlaps.forEach(function (o) { if (map[o[0]] >= 0) out.overlaps.push([map[o[0]]].concat(o.slice(1))); });
    (detail.buckets || []).forEach(function (b) { if (map[b[0]] >= 0) out.buckets.push([map[b[0]]].concat(b.slice(1))); });
    out.bucket_overlaps = base.bucket_overlaps.filter(function (o) { return !bucketed[o[0]] || o[2] <= start || o[1] >= end; });
    (detail.bucket_overlaps || []).forEach(function (o) { if (map[o[0]] >= 0) out.bucket_overlaps.push([map[o[0]]].concat(o.slice(1))); });
    out.buckets.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    return out;
  }

  Timeline.prototype.option = function (data) {
    var c = palette();
    var jobs = data.jobs;
    var lanesOf = jobs.map(function (j) { return j.lanes; });
    var narrow = this.el.clientWidth < 600;
    function barShape(api, jobIndex, lane, start, end, pad) {
      var lanes = lanesOf[jobIndex];
      var a = api.coord([start, jobIndex]);
      var b = api.coord([end, jobIndex]);
      var band = api.size([0, 1])[1] * 0.84;
      var h = band / lanes;
      var top = a[1] - band / 2 + lane * h;
      return { x: a[0], y: top + pad, width: Math.max(b[0] - a[0], 2), height: Math.max(h - 2 * pad, 1.5) };
    }
    // Each bucketed lane's buckets, and the busiest rate (runs per ms) among them, for the heights.
    // A bucket's rate is over the part of it inside the window, so the partial buckets at the
    // window's edges are not drawn lower than they are.
    var laneBuckets = {}, laneRate = {}, lo = data.since, hi = axisEnd(data);
    function rate(b) { return b[3] / Math.max(Math.min(b[2], hi) - Math.max(b[1], lo), 60000); }
    data.buckets.forEach(function (b) {
      (laneBuckets[b[0]] = laneBuckets[b[0]] || []).push(b);
      laneRate[b[0]] = Math.max(laneRate[b[0]] || 0, rate(b));
    });
    var laneItems = Object.keys(laneBuckets).map(function (j) {
      var list = laneBuckets[j];
      return [list[0][1], list[list.length - 1][2], Number(j)];
    });
    var self = this;
    function bucketAt(jobIndex) {
      if (!self.pointer || !self.chart) return null;
      var t = self.chart.convertFromPixel({ xAxisIndex: 0 }, self.pointer[0]);
      var list = laneBuckets[jobIndex] || [];
      for (var i = 0; i < list.length; i++) if (list[i][1] <= t && t < list[i][2]) return list[i];
      return null;
    }
    // A lane's buckets as step outlines along its bottom: two points per bucket (the top corners),
    // neighbours at the same pixel height merged and edges shared, so 240 buckets of a 30-day lane
    // cost a few hundred points instead of a thousand and the x of each edge is computed once.
    function Outline(bottom) { this.points = []; this.bottom = bottom; this.x1 = null; this.h = -1; }
    Outline.prototype.add = function (x0, x1, h) {
      var pts = this.points, bottom = this.bottom;
      if (this.x1 === null || x0 - this.x1 > 0.01) {
        if (this.x1 !== null) pts.push([this.x1, bottom]);
        pts.push([x0, bottom]);
        this.h = -1;
      }
      h = Math.round(h * 2) / 2;
      if (h === this.h) { pts[pts.length - 1][0] = x1; }
      else { pts.push([x0, bottom - h], [x1, bottom - h]); this.h = h; }
      this.x1 = x1;
    };
    Outline.prototype.done = function () {
      if (this.x1 !== null) this.points.push([this.x1, this.bottom]);
      return this.points;
    };
    function lanePolygons(params, api, jobIndex) {
      var cs = params.coordSys;
      var centre = api.coord([data.since, jobIndex])[1];
      var band = api.size([0, 1])[1] * 0.84;
      var bottom = centre + band / 2, top = laneRate[jobIndex];
      // The time axis is linear: two coordinates give every x.
      var t0 = data.since, px0 = api.coord([t0, jobIndex])[0];
      var perMs = (api.coord([t0 + 3600000, jobIndex])[0] - px0) / 3600000;
      function x(t) { return Math.min(Math.max(px0 + (t - t0) * perMs, cs.x), cs.x + cs.width); }
      var all = new Outline(bottom), failed = new Outline(bottom), running = [];
      var lastEnd = null, lastX = 0;
      (laneBuckets[jobIndex] || []).forEach(function (b) {
        var x0 = b[1] === lastEnd ? lastX : x(b[1]), x1 = x(b[2]);
        lastEnd = b[2]; lastX = x1;
        if (x1 - x0 < 0.01) return;
        var h = Math.max(band * Math.sqrt(rate(b) / top), 2);
        all.add(x0, x1, h);
        var hf = b[5] ? Math.max(h * b[5] / b[3], 1.5) : 0;
        if (hf) failed.add(x0, x1, hf);
        if (b[6]) {
          var hr = Math.max(h * b[6] / b[3], 1.5);
          running.push([x0, bottom - hf], [x0, bottom - hf - hr], [x1, bottom - hf - hr], [x1, bottom - hf]);
        }
      });
      var children = [{ type: "polygon", name: "lane-" + jobIndex, shape: { points: all.done() }, style: { fill: c.succeeded, opacity: 0.8 } }];
      var failedPoints = failed.done();
      if (failedPoints.length) children.push({ type: "polygon", name: "failed-" + jobIndex, shape: { points: failedPoints }, style: { fill: c.failed } });
      if (running.length) children.push({ type: "polygon", name: "running-" + jobIndex, shape: { points: running }, style: { fill: c.running } });
      return { type: "group", children: children };
    }
    var grid = { left: narrow ? 8 : 16, right: narrow ? 12 : 24, top: 16, bottom: 64, containLabel: true };
    // Lane names every `labelEvery` lanes when lanes are thinner than a line of text (a wall screen of
    // 200 jobs): ECharts' own thinning of category labels let them overlap.
    var laneHeight = Math.max(1, (this.el.clientHeight || 400) - grid.top - grid.bottom) / Math.max(1, jobs.length);
    var labelEvery = Math.max(1, Math.ceil(14 / laneHeight));
    return {
      useUTC: true,
      animation: false,
      grid: grid,
      tooltip: {
        trigger: "item", confine: true, backgroundColor: c.surface, borderColor: c.border, textStyle: { color: c.fg },
        formatter: function (p) {
          if (p.seriesId === "buckets") {
            var jb = p.data[2], b = bucketAt(jb);
            if (!b) return escapeHtml(jobs[jb].job) + "<br>" + jobs[jb].runs.toLocaleString("en") + " runs in the window";
            return '<div class="jd-tip"><b>' + escapeHtml(jobs[jb].job) + "</b> · " + fmtTime(b[1]) + " + " + fmtDuration((b[2] - b[1]) / 1000) +
              "<br>" + b[3].toLocaleString("en") + " runs · " + b[4].toLocaleString("en") + " succeeded · " + b[5].toLocaleString("en") +
              " failed or lost" + (b[6] ? " · " + b[6] + " running" : "") + "<br>Worst: " + escapeHtml(b[7]) +
              "<br>About " + b[8] + " running at a time on average" + (b[9] ? " · runs overlapped" : "") +
              "<br><i>Zoom in for single runs</i></div>";
          }
          if (p.seriesId === "bucket-overlaps") {
            var bo = data.bucket_overlaps[p.dataIndex];
            return "<b>Overlap</b> · " + escapeHtml(jobs[bo[0]].job) + "<br>runs of this job overlapped here (at least 2 at once)<br>" +
              fmtTime(bo[1]) + " → " + fmtTime(bo[2]) + "<br>Zoom in to see each run";
          }
          if (p.seriesId === "overlaps") {
            var o = data.overlaps[p.dataIndex];
            return "<b>Overlap</b> · " + escapeHtml(jobs[o[0]].job) + "<br>" + o[3] + " runs at once at the peak<br>" +
              fmtTime(o[1]) + " → " + fmtTime(o[2]) + "<br>" + fmtDuration((o[2] - o[1]) / 1000);
          }
          if (p.seriesId === "predicted") {
            var g = data.ghosts[p.dataIndex];
            return '<div class="jd-tip"><b>Scheduled</b> · ' + escapeHtml(g[4]) + "<br>" + escapeHtml(jobs[g[0]].job) +
              "<br>Fires: " + fmtTime(g[1]) + "<br>Expected: " + fmtDuration((g[2] - g[1]) / 1000) + " (p50), up to " +
              fmtDuration((g[3] - g[1]) / 1000) + " (p95)" + (g[5] ? "<br><i>estimated: the job has too few runs</i>" : "") + "</div>";
          }
          var r = data.runs[p.dataIndex];
          var running = r[4] === "running";
          return '<div class="jd-tip"><b>' + escapeHtml(r[5]) + "</b><br>" + escapeHtml(jobs[r[0]].job) + " · " + escapeHtml(r[4]) +
            "<br>Start: " + fmtTime(r[2]) + "<br>End: " + (running ? "still running" : fmtTime(r[3])) +
            "<br>Duration: " + fmtDuration((r[3] - r[2]) / 1000) + (running ? " so far" : "") + "</div>";
        },
      },
      xAxis: {
        type: "time", min: data.since, max: axisEnd(data),
        axisLabel: { color: c.muted, hideOverlap: true }, axisLine: { lineStyle: { color: c.border } },
        splitLine: { show: true, lineStyle: { color: c.border, opacity: 0.5 } },
      },
      yAxis: {
        type: "category", inverse: true, data: jobs.map(function (j) { return j.job; }),
        axisLabel: { color: c.fg, width: narrow ? 90 : 170, overflow: "truncate", interval: labelEvery - 1 },
        axisLine: { lineStyle: { color: c.border } }, axisTick: { show: false },
        splitLine: { show: true, lineStyle: { color: c.border, opacity: 0.6 } },
      },
      dataZoom: [
        { type: "slider", xAxisIndex: 0, filterMode: "weakFilter", height: 22, bottom: 12, labelFormatter: "",
          borderColor: c.border, textStyle: { color: c.muted }, backgroundColor: "transparent",
          fillerColor: "rgba(120, 140, 180, .22)", showDataShadow: false,
          handleStyle: { color: c.surface, borderColor: c.muted }, moveHandleStyle: { color: c.muted, opacity: 0.6 },
          emphasis: { handleStyle: { borderColor: c.fg }, moveHandleStyle: { color: c.fg } } },
        { type: "inside", xAxisIndex: 0, filterMode: "weakFilter", moveOnMouseMove: !narrow, zoomOnMouseWheel: true },
      ],
      series: [
        {
          id: "overlaps", type: "custom", z: 1,
          data: data.overlaps.map(function (o) { return [o[1], o[2], o[0], o[3]]; }),
          encode: { x: [0, 1], y: 2 },
          renderItem: function (params, api) {
            var jobIndex = api.value(2);
            var a = api.coord([api.value(0), jobIndex]);
            var b = api.coord([api.value(1), jobIndex]);
            var band = api.size([0, 1])[1];
            var rect = { x: a[0], y: a[1] - band / 2 + 1, width: Math.max(b[0] - a[0], 2), height: band - 2 };
            var clipped = window.echarts.graphic.clipRectByRect(rect, {
              x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width, height: params.coordSys.height,
            });
            return clipped && {
              type: "rect", shape: clipped,
              style: { fill: c.overlap, stroke: c.mark, lineWidth: 1, lineDash: [3, 2] },
            };
          },
        },
        {
          id: "bucket-overlaps", type: "custom", z: 1,
          data: data.bucket_overlaps.map(function (o) { return [o[1], o[2], o[0]]; }),
          encode: { x: [0, 1], y: 2 },
          renderItem: function (params, api) {
            var jobIndex = api.value(2);
            var a = api.coord([api.value(0), jobIndex]);
            var b = api.coord([api.value(1), jobIndex]);
            var band = api.size([0, 1])[1];
            var rect = { x: a[0], y: a[1] - band / 2 + 1, width: Math.max(b[0] - a[0], 2), height: band - 2 };
            var clipped = window.echarts.graphic.clipRectByRect(rect, {
              x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width, height: params.coordSys.height,
            });
            return clipped && { type: "rect", shape: clipped, style: { fill: c.overlap } };
          },
        },
        {
          id: "buckets", type: "custom", z: 2,
          data: laneItems,
          encode: { x: [0, 1], y: 2 },
          renderItem: function (params, api) { return lanePolygons(params, api, api.value(2)); },
        },
        {
          id: "predicted", type: "custom", z: 2,
          data: (data.ghosts || []).map(function (g) { return [g[1], g[3], g[0]]; }),
          encode: { x: [0, 1], y: 2 },
          renderItem: function (params, api) {
            var g = data.ghosts[params.dataIndex];
            var box = { x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width, height: params.coordSys.height };
            // The whole lane's height: a firing to come has no sub-lane yet.
            var a = api.coord([g[1], g[0]]), b = api.coord([g[2], g[0]]), band = api.size([0, 1])[1] * 0.84;
            var bar = { x: a[0], y: a[1] - band / 2 + 3, width: Math.max(b[0] - a[0], 6), height: Math.max(band - 6, 2) };
            var clipped = window.echarts.graphic.clipRectByRect(bar, box);
            if (!clipped) return null;
            var children = [{ type: "rect", shape: clipped, style: { fill: c.ghost, stroke: c.running, lineWidth: 1.5, lineDash: [4, 3] } }];
            var p95 = api.coord([g[3], g[0]])[0], mid = clipped.y + clipped.height / 2;
            var x1 = Math.min(p95, box.x + box.width), x0 = clipped.x + clipped.width;
            if (x1 - x0 > 1) children.push({ type: "line", shape: { x1: x0, y1: mid, x2: x1, y2: mid }, style: { stroke: c.running, lineWidth: 1.5, lineDash: [2, 2] } });
            return { type: "group", children: children };
          },
          // Where the past ends: what ran is left of the line, what is scheduled right of it.
          markLine: data.ghosts && data.ghosts.length ? {
            silent: true, symbol: "none", animation: false,
            lineStyle: { color: c.muted, type: "solid", width: 1 },
            label: { formatter: "now", color: c.muted, position: "insideEndTop" },
            data: [{ xAxis: data.now }],
          } : undefined,
        },
        {
          id: "runs", type: "custom", z: 2,
          data: data.runs.map(function (r) { return [r[2], r[3], r[0], r[1]]; }),
          encode: { x: [0, 1], y: 2 },
          renderItem: function (params, api) {
            var i = params.dataIndex;
            var r = data.runs[i];
            var shape = barShape(api, r[0], r[1], r[2], r[3], 1);
            var clipped = shape && window.echarts.graphic.clipRectByRect(shape, {
              x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width, height: params.coordSys.height,
            });
            if (!clipped) return null;
            var fill = c[r[4]] || (r[4] === "lost" ? c.failed : c.other);
            var item = { type: "rect", shape: clipped, style: { fill: fill, opacity: 0.85 } };
            // Failed (and lost) bars are outlined as well as red, so they stand out without colour too.
            if (r[4] === "failed" || r[4] === "lost") { item.style.stroke = c.fg; item.style.lineWidth = 1; }
            if (r[4] === "running") {
              item.keyframeAnimation = {
                duration: 1400, loop: true,
                keyframes: [{ percent: 0.5, style: { opacity: 0.35 } }, { percent: 1, style: { opacity: 0.9 } }],
              };
            }
            return item;
          },
        },
      ],
    };
  };

  // The page coordinates of a run's bar centre (for tests and keyboard help); null when not drawn.
  Timeline.prototype.barCenter = function (i) {
    if (!this.chart || !this.data || !this.data.runs[i]) return null;
    var r = this.data.runs[i];
    var c = this.chart.convertToPixel({ xAxisIndex: 0, yAxisIndex: 0 }, [(r[2] + r[3]) / 2, r[0]]);
    var band = this.chart.getModel().getComponent("yAxis", 0).axis.getBandWidth() * 0.84;
    var h = band / this.data.jobs[r[0]].lanes;
    var box = this.el.getBoundingClientRect();
    return { x: box.left + c[0], y: box.top + c[1] - band / 2 + (r[1] + 0.5) * h, runId: r[5] };
  };

  Timeline.prototype.redraw = function () {
    if (!this.data) return;
    var kept = this.zoomRange();
    if (this.chart) this.chart.dispose();
    this.chart = null;
    this.kept = kept;
    this.render(this.data);
  };
  Timeline.prototype.resize = function () { if (this.chart) this.chart.resize(); };

  window.JobdeckTimeline = Timeline;
  window.JobdeckFormat = { duration: fmtDuration, time: fmtTime };
})();
