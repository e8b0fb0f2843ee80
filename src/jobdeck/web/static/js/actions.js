// Stop, Terminate and Retry buttons (htmx posts marked data-jd-action): the server's answer goes where the page
// shows outcomes. A refusal (4xx) is a page fragment like a success, so it is shown rather than treated
// as an error; when the server fails or cannot be reached, the page says so and offers to try again.
(function () {
  "use strict";

  function action(elt) {
    return elt && elt.closest ? elt.closest("[data-jd-action]") : null;
  }

  // (On htmx:beforeSwap, detail.elt is the target; the element that asked is requestConfig.elt.)
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var asker = event.detail.requestConfig && event.detail.requestConfig.elt;
    var html = /text\/html/.test(xhr.getResponseHeader("content-type") || "");
    if (action(asker) && xhr.status >= 400 && xhr.status < 500 && html) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  function failed(event) {
    var button = action(event.detail.elt);
    if (!button) return;
    var target = document.getElementById("jd-action-result");
    var xhr = event.detail.xhr;
    var why = xhr && xhr.status ? "the server answered " + xhr.status : "the server could not be reached";
    var box = document.createElement("div");
    box.className = "jd-notice jd-notice--error jd-action-result";
    box.setAttribute("role", "alert");
    var text = document.createElement("p");
    text.textContent = "Could not " + button.dataset.jdAction + ": " + why + ".";
    var again = document.createElement("button");
    again.type = "button";
    again.className = "jd-btn";
    again.textContent = "Try again";
    again.dataset.jdAction = button.dataset.jdAction;
    again.setAttribute("hx-post", event.detail.requestConfig.path);
    again.setAttribute("hx-target", "#jd-action-result");
    again.setAttribute("hx-disabled-elt", "this");
    box.append(text, again);
    target.replaceChildren(box);
    window.htmx.process(box);
  }

  document.addEventListener("htmx:responseError", failed);
  document.addEventListener("htmx:sendError", failed);
})();
