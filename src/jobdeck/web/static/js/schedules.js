// The Schedules pages: countdowns to the next run, the row actions (run now, pause, resume, delete),
// the create/edit form (sent to the JSON API, its 422s shown beside the field they name), and the
// predicted timeline of the next 24 hours drawn as ghost bars.
(function () {
  "use strict";
  var root = (document.querySelector('meta[name="jobdeck-root"]') || {}).content || "";

  function fmtLeft(ms) {
    var s = Math.round(ms / 1000);
    if (s <= 0) return "due now";
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    if (d) return "in " + d + " d " + h + " h";
    if (h) return "in " + h + " h " + m + " m";
    if (m) return "in " + m + " m " + r + " s";
    return "in " + r + " s";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      el.textContent = fmtLeft(Date.parse(el.dataset.countdown) - now);
    });
  }

  function notice(kind, text) {
    var slot = document.getElementById("jd-action-result");
    if (!slot) return;
    slot.innerHTML = "";
    var p = document.createElement("div");
    p.className = "jd-notice jd-notice--" + kind + " jd-action-result";
    p.setAttribute("role", kind === "error" ? "alert" : "status");
    p.textContent = text;
    slot.appendChild(p);
  }

  function detailOf(body) {
    if (!body || body.detail === undefined) return "the server said no";
    if (typeof body.detail === "string") return body.detail;
    return body.detail.map(function (e) { return e.loc.slice(1).join(".") + ": " + e.msg; }).join("; ");
  }

  function api(method, path, body) {
    var options = { method: method, headers: { "Accept": "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(root + "/api/v1/schedules" + path, options).then(function (response) {
      if (response.status === 204) return { ok: true, body: null };
      return response.json().then(function (json) { return { ok: response.ok, body: json }; },
        function () { return { ok: response.ok, body: null }; });
    });
  }

  function refresh() { document.dispatchEvent(new CustomEvent("jobdeck:schedules")); }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-jd-schedule]");
    if (!button) return;
    var action = button.dataset.jdSchedule, id = encodeURIComponent(button.dataset.id);
    var request;
    if (action === "run") request = api("POST", "/" + id + "/run");
    else if (action === "pause" || action === "resume") request = api("PATCH", "/" + id, { paused: action === "pause" });
    else if (action === "delete") {
      if (!window.confirm("Delete the schedule “" + button.dataset.name + "” and its firing history? Its runs stay.")) return;
      request = api("DELETE", "/" + id);
    } else return;
    button.disabled = true;
    request.then(function (result) {
      button.disabled = false;
      if (!result.ok) { notice("error", "Could not " + action + ": " + detailOf(result.body) + "."); return; }
      if (action === "run") notice("ok", "Started run " + result.body.run_id + ".");
      else if (action === "delete") {
        notice("ok", "Deleted.");
        if (button.dataset.then) { window.location.href = button.dataset.then; return; }
      } else notice("ok", action === "pause" ? "Paused." : "Resumed.");
      if (document.getElementById("schedule-list")) refresh(); else window.location.reload();
    }, function () { button.disabled = false; notice("error", "The server cannot be reached."); });
  });

  // --- the form ------------------------------------------------------------------------------------

  var PRESETS = {
    minute: function () { return "* * * * *"; },
    hour: function (h, m) { return m + " * * * *"; },
    day: function (h, m) { return m + " " + h + " * * *"; },
    weekdays: function (h, m) { return m + " " + h + " * * 1-5"; },
    month: function (h, m) { return m + " " + h + " 1 * *"; },
  };

  function showFor(form) {
    var kind = form.elements.kind.value, target = form.elements.target_type.value;
    form.querySelectorAll("[data-for-kind]").forEach(function (el) { el.hidden = el.dataset.forKind !== kind; });
    form.querySelectorAll("[data-for-target]").forEach(function (el) { el.hidden = el.dataset.forTarget !== target; });
    form.elements.preset_time.parentElement.hidden = kind !== "cron" || ["hour", "day", "weekdays", "month"].indexOf(form.elements.preset.value) < 0;
  }

  function applyPreset(form) {
    var preset = PRESETS[form.elements.preset.value];
    if (!preset) return;
    var parts = (form.elements.preset_time.value || "00:00").split(":");
    form.elements.kind.value = "cron";
    form.elements.cron.value = preset(String(Number(parts[0])), String(Number(parts[1])));
  }

  function value(form, name) { var v = form.elements[name].value.trim(); return v === "" ? null : v; }
  function number(form, name) { var v = value(form, name); return v === null ? null : Number(v); }

  function specOf(form) {
    var type = form.elements.target_type.value, target = { type: type };
    if (type === "command") {
      target.command = (value(form, "command") || "").match(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g) || [];
      target.command = target.command.map(function (a) { return a.replace(/^(["'])(.*)\1$/, "$2"); });
      target.cwd = value(form, "cwd");
    } else if (type === "python") target.callable = value(form, "callable") || "";
    else if (type === "http") target.url = value(form, "url") || "";
    else target.task = value(form, "task") || "";
    var kind = form.elements.kind.value;
    var at = value(form, "at");
    return {
      name: value(form, "name") || "",
      job: value(form, "job"),
      kind: kind,
      cron: kind === "cron" ? value(form, "cron") : null,
      every_s: kind === "interval" ? number(form, "every_s") : null,
      at: kind === "once" && at ? at + (at.length === 16 ? ":00" : "") + "Z" : null,
      timezone: value(form, "timezone") || "UTC",
      max_executions: number(form, "max_executions"),
      skip_dates: (value(form, "skip_dates") || "").split(",").map(function (d) { return d.trim(); }).filter(Boolean),
      misfire: form.elements.misfire.value,
      overlap: form.elements.overlap.value,
      paused: form.elements.paused.checked,
      timeout_s: number(form, "timeout_s"),
      target: target,
    };
  }

  var FIELD_INPUT = { command: "command", callable: "callable", url: "url", task: "task", every_s: "every_s" };

  function showErrors(form, body) {
    form.querySelectorAll(".jd-field-error").forEach(function (el) { el.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    var box = document.getElementById("jd-form-error");
    box.textContent = "Not saved: " + detailOf(body) + ".";
    box.hidden = false;
    (Array.isArray(body && body.detail) ? body.detail : []).forEach(function (error) {
      var loc = error.loc.slice(1), name = loc[0] === "target" ? (FIELD_INPUT[loc[1]] || "target_type") : loc[0];
      var input = form.elements[name];
      if (!input || !input.parentElement) return;
      input.setAttribute("aria-invalid", "true");
      var hint = document.createElement("span");
      hint.className = "jd-field-error";
      hint.textContent = error.msg;
      input.parentElement.appendChild(hint);
    });
    box.scrollIntoView({ block: "nearest" });
  }

  function setUpForm(form) {
    showFor(form);
    form.addEventListener("change", function (event) {
      if (event.target.name === "preset" || event.target.name === "preset_time") applyPreset(form);
      showFor(form);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var submit = form.querySelector("[type=submit]");
      submit.disabled = true;
      fetch(form.dataset.api, {
        method: form.dataset.method,
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(specOf(form)),
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      }).then(function (result) {
        submit.disabled = false;
        if (result.ok) window.location.href = form.dataset.then; else showErrors(form, result.body);
      }, function () { submit.disabled = false; showErrors(form, { detail: "the server cannot be reached" }); });
    });
  }

  // --- the predicted timeline ------------------------------------------------------------------------

  function cssVar(name, fallback) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]; });
  }

  function drawPredicted(panel) {
    var chartEl = document.getElementById("jd-predicted-chart"), list = document.getElementById("jd-predicted-overlaps");
    fetch(panel.dataset.src, { headers: { "Accept": "application/json" } }).then(function (r) { return r.json(); }).then(function (data) {
      var names = [];
      data.firings.forEach(function (f) { if (names.indexOf(f.name) < 0) names.push(f.name); });
      if (!names.length) { chartEl.hidden = true; list.innerHTML = '<p class="jd-muted">No schedule fires in the next 24 hours.</p>'; return; }
      chartEl.style.height = Math.max(140, 46 + names.length * 30) + "px";
      var bars = data.firings.map(function (f) {
        var start = Date.parse(f.at);
        return [names.indexOf(f.name), start, start + f.p50_s * 1000, start + f.p95_s * 1000, f.name, f.estimated];
      });
      var accent = cssVar("--accent", "#7b4fd6"), fg = cssVar("--fg", "#222"), muted = cssVar("--muted", "#777"), border = cssVar("--border", "#ddd");
      if (!window.echarts) { chartEl.textContent = "The chart library did not load."; return; }
      var chart = window.echarts.getInstanceByDom(chartEl) || window.echarts.init(chartEl, null, { renderer: "canvas" });
      chart.setOption({
        animation: false,
        grid: { left: 8, right: 16, top: 8, bottom: 28, containLabel: true },
        xAxis: { type: "time", min: Date.parse(data.since), max: Date.parse(data.until), axisLabel: { color: muted }, axisLine: { lineStyle: { color: border } }, splitLine: { show: true, lineStyle: { color: border, opacity: .5 } } },
        yAxis: { type: "category", data: names, inverse: true, axisLabel: { color: fg, width: 140, overflow: "truncate" }, axisLine: { lineStyle: { color: border } } },
        tooltip: { confine: true, formatter: function (p) {
          var v = p.value;
          return escapeHtml(v[4]) + "<br>" + new Date(v[1]).toISOString().replace("T", " ").slice(0, 19) + " UTC" +
            "<br>usually " + Math.round((v[2] - v[1]) / 1000) + " s, p95 " + Math.round((v[3] - v[1]) / 1000) + " s" + (v[5] ? "" : " (no history yet)");
        } },
        series: [{
          type: "custom",
          renderItem: function (params, api) {
            var lane = api.value(0), start = api.coord([api.value(1), lane]), p50 = api.coord([api.value(2), lane]), p95 = api.coord([api.value(3), lane]);
            var h = api.size([0, 1])[1] * 0.55, y = start[1] - h / 2;
            var w50 = Math.max(2, p50[0] - start[0]), w95 = Math.max(w50, p95[0] - start[0]);
            return { type: "group", children: [
              { type: "rect", shape: { x: start[0], y: y, width: w95, height: h }, style: { fill: accent, opacity: 0.18, stroke: accent, lineDash: [3, 2], lineWidth: 1 } },
              { type: "rect", shape: { x: start[0], y: y, width: w50, height: h }, style: { fill: accent, opacity: 0.45 } },
            ] };
          },
          encode: { x: [1, 2, 3], y: 0 },
          data: bars,
        }],
      }, true);
      window.addEventListener("resize", function () { chart.resize(); });
      var html = "";
      if (!data.overlaps.length) html = '<p class="jd-muted">No overlaps predicted.</p>';
      else {
        var pairs = {};
        data.overlaps.forEach(function (o) {
          var key = o.a.name + " and " + o.b.name;
          pairs[key] = (pairs[key] || 0) + 1;
        });
        html += "<h3>Predicted overlaps</h3><ul>" + Object.keys(pairs).map(function (k) {
          return "<li>" + escapeHtml(k) + ": " + pairs[k] + " time" + (pairs[k] === 1 ? "" : "s") + "</li>";
        }).join("") + "</ul>";
        if (data.suggested_stagger.length) {
          html += "<h3>Suggested stagger</h3><ul>" + data.suggested_stagger.map(function (m) {
            return "<li>" + escapeHtml(m.name) + ": <code>" + escapeHtml(m.cron) + "</code> → <code>" + escapeHtml(m.suggested_cron) +
              "</code> (" + (m.shift_minutes > 0 ? "+" : "") + m.shift_minutes + " min)</li>";
          }).join("") + "</ul><p class=\"jd-muted jd-small\">With these, " + data.overlaps_after_stagger + " overlap" +
            (data.overlaps_after_stagger === 1 ? " remains" : "s remain") + ".</p>";
        }
      }
      list.innerHTML = html;
    }, function () { list.innerHTML = '<p class="jd-muted">The prediction could not be loaded.</p>'; });
  }

  function start() {
    tick();
    setInterval(tick, 1000);
    document.body.addEventListener("htmx:afterSwap", tick);
    var form = document.getElementById("jd-schedule-form");
    if (form) setUpForm(form);
    var panel = document.getElementById("jd-predicted");
    if (panel) drawPredicted(panel);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
