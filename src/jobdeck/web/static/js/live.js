// Live updates for every page: a Server-Sent Events stream; when it drops, polling a change token.
// Pages listen for the `jobdeck:changed` event on document (htmx: hx-trigger="jobdeck:changed from:document").
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="jobdeck-root"]');
  var root = meta ? meta.content : "";
  var badge = document.getElementById("jd-live");
  var POLL_MS = 5000;
  var GATHER_MS = 250, MAX_IDS = 20;
  var POLLING_NOTICE = "Live updates are interrupted: this page checks for changes every " + POLL_MS / 1000 +
    " s instead, and goes back to live updates as soon as the stream is back.";
  // gatheredIds: the runs named by the changes gathered so far; null once one of them did not say
  // (or named too many), which the announced change says with an empty list: any run may have changed.
  var source = null, pollTimer = null, version = null, gatherTimer = null, gatheredIds = [], downSince = null;

  // The badge in the top bar says in a word how the page stays current; the notice above the page
  // says it in a sentence when it is not live.
  function setState(state, text, notice) {
    var box = document.getElementById("jd-live-notice");
    if (box) {
      box.hidden = !notice;
      box.textContent = notice || "";
    }
    if (!badge) return;
    badge.hidden = false;
    badge.dataset.state = state;
    badge.textContent = text;
    badge.title = notice || "Changes arrive over a live stream";
    document.dispatchEvent(new CustomEvent("jobdeck:live", { detail: { state: state, text: text } }));
  }
  // Changes are gathered for GATHER_MS, then announced once. The wait starts at the first change and
  // is not pushed back by later ones: a steady stream of changes (many a second) is announced every
  // GATHER_MS instead of never.
  function changed(detail) {
    var ids = (detail && detail.run_ids) || [];
    if (gatheredIds) {
      ids.forEach(function (id) { if (gatheredIds.indexOf(id) < 0) gatheredIds.push(id); });
      // No ids, or fewer than the runs it changed (the server names at most MAX_IDS): any run may have.
      if (!ids.length || detail.runs > ids.length || gatheredIds.length > MAX_IDS) gatheredIds = null;
    }
    if (gatherTimer) return;
    gatherTimer = setTimeout(function () {
      var runIds = gatheredIds || [];
      gatheredIds = [];
      gatherTimer = null;
      document.dispatchEvent(new CustomEvent("jobdeck:changed", { detail: { run_ids: runIds } }));
    }, GATHER_MS);
  }
  function poll() {
    fetch(root + "/api/v1/changes", { headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (body) {
        if (version !== null && body.version !== version) changed({ source: "poll" });
        version = body.version;
      })
      .then(polling)
      .catch(function () {
        // (A poll that ends after the stream came back says nothing: the page is live again.)
        if (!pollTimer) return;
        setState("offline", "Offline — retrying",
          "The server cannot be reached. What you see may be out of date; trying again every " + POLL_MS / 1000 + " s.");
      });
  }
  function polling() {
    if (pollTimer) setState("polling", "Polling every " + POLL_MS / 1000 + " s", POLLING_NOTICE);
  }
  function startPolling() {
    if (pollTimer) return;
    setState("polling", "Polling every " + POLL_MS / 1000 + " s", POLLING_NOTICE);
    poll();
    pollTimer = setInterval(poll, POLL_MS);
  }
  function stopPolling() { clearInterval(pollTimer); pollTimer = null; }

  function connect() {
    if (!window.EventSource) { startPolling(); return; }
    source = new EventSource(root + "/api/v1/stream");
    source.addEventListener("hello", function () {
      downSince = null;
      if (pollTimer) { stopPolling(); changed({ source: "reconnect" }); }
      setState("live", "Live");
    });
    source.addEventListener("change", function (e) {
      var detail = {};
      try { detail = JSON.parse(e.data); } catch (err) { /* keep the empty detail */ }
      changed(detail);
    });
    source.onerror = function () {
      // EventSource retries by itself; poll meanwhile, and say so.
      if (downSince === null) downSince = Date.now();
      startPolling();
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    };
  }
  // Run `fn(detail)` after changes, at most once every `gapMs` and always once after the last change:
  // what a page's heavier refreshes (charts, the timeline) listen with.
  function onChange(fn, gapMs) {
    var last = 0, timer = null, latest = null;
    document.addEventListener("jobdeck:changed", function (e) {
      latest = e.detail || {};
      if (timer) return;
      timer = setTimeout(function () { timer = null; last = Date.now(); fn(latest); }, Math.max(0, last + gapMs - Date.now()));
    });
  }
  window.JobdeckLive = {
    stop: function () { if (source) source.close(); startPolling(); },
    connect: connect,
    onChange: onChange,
  };
  window.addEventListener("pagehide", function () { if (source) source.close(); });
  connect();
})();
