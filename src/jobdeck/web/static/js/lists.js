// The run pages' refreshes: when one fails, say so in the page and offer a retry.
(function () {
  "use strict";

  function showError(target, message, retry) {
    var box = target.querySelector(":scope > .jd-refresh-error");
    if (!box) {
      box = document.createElement("div");
      box.className = "jd-notice jd-notice--error jd-refresh-error";
      box.setAttribute("role", "alert");
      target.prepend(box);
    }
    box.textContent = message + " ";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "jd-btn jd-btn--primary";
    button.textContent = "Retry";
    button.addEventListener("click", retry);
    box.appendChild(button);
  }

  function onFailure(event) {
    var target = event.detail && event.detail.target;
    if (!target || !target.closest(".jd-lists")) return;
    // Only refreshes (GETs) are this file's: actions report their own failures (actions.js).
    if (event.detail.requestConfig && event.detail.requestConfig.verb !== "get") return;
    var xhr = event.detail.xhr;
    var why = xhr && xhr.status ? "the server answered " + xhr.status : "the server could not be reached";
    var url = event.detail.requestConfig && event.detail.requestConfig.path;
    showError(target, "Could not refresh: " + why + ". Showing what was loaded before.", function () {
      if (window.htmx && url) {
        window.htmx.ajax("GET", url, { target: target, swap: "innerHTML" });
      } else {
        window.location.reload();
      }
    });
  }

  document.addEventListener("htmx:responseError", onFailure);
  document.addEventListener("htmx:sendError", onFailure);
})();
