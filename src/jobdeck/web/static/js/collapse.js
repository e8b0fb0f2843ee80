// On a phone the overview's long sections (summary, health panels, recent runs) start collapsed to
// their heading with a Show button, so the page is the cards and the timeline first. What the reader
// opens stays open for the session, across refreshes (htmx swaps the summary in anew).
(function () {
  "use strict";
  var phone = window.matchMedia ? window.matchMedia("(max-width: 720px)") : { matches: false };
  function key(section) { return "jobdeck-open:" + section.id; }
  function isOpen(section) {
    try { return window.sessionStorage.getItem(key(section)) === "1"; } catch (e) { return false; }
  }
  function apply(section) {
    var button = section.querySelector(":scope > .jd-panel-head > .jd-collapse-toggle");
    if (!button) return;
    var open = !phone.matches || isOpen(section);
    section.classList.toggle("jd-collapsed", !open);
    button.hidden = !phone.matches;
    button.textContent = open ? "Hide" : "Show";
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }
  function setup(section) {
    var head = section.querySelector(":scope > .jd-panel-head");
    if (!head || !section.id) return;
    if (!head.querySelector(".jd-collapse-toggle")) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "jd-btn jd-collapse-toggle";
      button.setAttribute("aria-controls", section.id);
      button.addEventListener("click", function () {
        var open = section.classList.contains("jd-collapsed");
        try { window.sessionStorage.setItem(key(section), open ? "1" : "0"); } catch (e) { /* private mode */ }
        apply(section);
        // A chart drawn while hidden has no size: let it measure itself now.
        if (open) window.dispatchEvent(new Event("resize"));
      });
      head.appendChild(button);
    }
    apply(section);
  }
  function all() { document.querySelectorAll("[data-collapse]").forEach(setup); }
  document.body.addEventListener("htmx:afterSwap", all);
  if (phone.addEventListener) phone.addEventListener("change", all);
  all();
})();
