// Live updates for every page: a Server-Sent Events stream; when it drops, polling a change token.
// Pages listen for the `jobdeck:changed` event on document (htmx: hx-trigger="jobdeck:changed from:document").
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="jobdeck-root"]');
  var root = meta ? meta.content : "";
  var badge = document.getElementById("jd-live");
  var POLL_MS = 5000;
  var source = null, pollTimer = null, version = null, debounce = null, downSince = null;

  function setState(state, text) {
    if (!badge) return;
    badge.hidden = false;
    badge.dataset.state = state;
    badge.textContent = text;
    document.dispatchEvent(new CustomEvent("jobdeck:live", { detail: { state: state, text: text } }));
  }
  function changed(detail) {
    clearTimeout(debounce);
    debounce = setTimeout(function () {
      document.dispatchEvent(new CustomEvent("jobdeck:changed", { detail: detail || {} }));
    }, 250);
  }
  function poll() {
    fetch(root + "/api/v1/changes", { headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (body) {
        if (version !== null && body.version !== version) changed({ source: "poll" });
        version = body.version;
      })
      .catch(function () { setState("polling", "Offline — retrying"); });
  }
  function startPolling() {
    if (pollTimer) return;
    setState("polling", "Live updates lost — polling every " + POLL_MS / 1000 + " s");
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
  window.JobdeckLive = { stop: function () { if (source) source.close(); startPolling(); }, connect: connect };
  window.addEventListener("pagehide", function () { if (source) source.close(); });
  connect();
})();
