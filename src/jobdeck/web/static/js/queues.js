// The Queues page: the buttons beside a failed job (BullMQ retry and remove, RQ requeue) post to
// /api/v1/queues/{system}/{queue}/jobs/{id}/{action}, say what happened, and refresh the list.
(function () {
  "use strict";
  var root = (document.querySelector('meta[name="jobdeck-root"]') || {}).content || "";

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

  // The list is swapped in anew every 10 s: what the reader opened or closed stays so.
  var kept = {};
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (details.dataset && details.dataset.jdKeep) kept[details.dataset.jdKeep] = details.open;
  }, true);
  document.addEventListener("htmx:afterSwap", function () {
    document.querySelectorAll("details[data-jd-keep]").forEach(function (details) {
      var open = kept[details.dataset.jdKeep];
      if (open !== undefined) details.open = open;
    });
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-jd-queue-action]");
    if (!button) return;
    var d = button.dataset, action = d.jdQueueAction;
    if (action === "remove" && !window.confirm("Remove failed job " + d.job + " of " + d.queue + " from BullMQ? It cannot be retried after.")) return;
    var path = root + "/api/v1/queues/" + encodeURIComponent(d.system) + "/" + encodeURIComponent(d.queue) +
      "/jobs/" + encodeURIComponent(d.job) + "/" + action + "?broker=" + encodeURIComponent(d.broker);
    button.disabled = true;
    fetch(path, { method: "POST", headers: { "Accept": "application/json" } }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; },
        function () { return { ok: response.ok, body: null }; });
    }).then(function (result) {
      button.disabled = false;
      var detail = result.body && typeof result.body.detail === "string" ? result.body.detail : "the server said no";
      if (!result.ok) { notice("error", "Could not " + action + ": " + detail + "."); return; }
      notice("ok", detail.charAt(0).toUpperCase() + detail.slice(1) + ".");
      document.dispatchEvent(new CustomEvent("jobdeck:queues"));
    }, function () { button.disabled = false; notice("error", "The server cannot be reached."); });
  });
})();
