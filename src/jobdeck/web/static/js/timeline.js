// The timeline of runs: one swim lane per job, sub-lanes for runs that overlap, shaded overlap regions.
// Drawn on one canvas by ECharts (a custom series), so 10,000 bars cost no DOM nodes.
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
      surface: cssVar("--surface", "#fff"),
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

  function zoomFor(kept, data) {
    if (!kept) return null;
    var lo = data.since, hi = Math.max(data.until, data.now);
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
    this.data = data;
    var el = this.el;
    if (!window.echarts) { el.textContent = "The chart library did not load."; return; }
    if (!data.runs.length) {
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
    } else {
      this.chart.resize();
    }
    var option = this.option(data);
    var range = zoomFor(kept, data);
    if (range) option.dataZoom.forEach(function (z) { z.startValue = range[0]; z.endValue = range[1]; });
    this.chart.setOption(option, { notMerge: true });
  };

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
    var grid = { left: narrow ? 8 : 16, right: narrow ? 12 : 24, top: 16, bottom: 64, containLabel: true };
    return {
      useUTC: true,
      animation: false,
      grid: grid,
      tooltip: {
        trigger: "item", confine: true, backgroundColor: c.surface, borderColor: c.border, textStyle: { color: c.fg },
        formatter: function (p) {
          if (p.seriesId === "overlaps") {
            var o = data.overlaps[p.dataIndex];
            return "<b>Overlap</b> · " + escapeHtml(jobs[o[0]].job) + "<br>" + o[3] + " runs at once at the peak<br>" +
              fmtTime(o[1]) + " → " + fmtTime(o[2]) + "<br>" + fmtDuration((o[2] - o[1]) / 1000);
          }
          var r = data.runs[p.dataIndex];
          var running = r[4] === "running";
          return '<div class="jd-tip"><b>' + escapeHtml(r[5]) + "</b><br>" + escapeHtml(jobs[r[0]].job) + " · " + escapeHtml(r[4]) +
            "<br>Start: " + fmtTime(r[2]) + "<br>End: " + (running ? "still running" : fmtTime(r[3])) +
            "<br>Duration: " + fmtDuration((r[3] - r[2]) / 1000) + (running ? " so far" : "") + "</div>";
        },
      },
      xAxis: {
        type: "time", min: data.since, max: Math.max(data.until, data.now),
        axisLabel: { color: c.muted, hideOverlap: true }, axisLine: { lineStyle: { color: c.border } },
        splitLine: { show: true, lineStyle: { color: c.border, opacity: 0.5 } },
      },
      yAxis: {
        type: "category", inverse: true, data: jobs.map(function (j) { return j.job; }),
        axisLabel: { color: c.fg, width: narrow ? 90 : 170, overflow: "truncate" },
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
