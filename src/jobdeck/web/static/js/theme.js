// The light/dark toggle: follows prefers-color-scheme until the user picks, then remembers the pick.
(function () {
  "use strict";
  var KEY = "jobdeck-theme";
  var root = document.documentElement;
  function current() {
    if (root.dataset.theme === "light" || root.dataset.theme === "dark") return root.dataset.theme;
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  function label(button) {
    var next = current() === "dark" ? "light" : "dark";
    button.setAttribute("aria-label", "Switch to " + next + " theme");
    button.title = "Switch to " + next + " theme";
  }
  var button = document.getElementById("jd-theme-toggle");
  if (!button) return;
  label(button);
  button.addEventListener("click", function () {
    var next = current() === "dark" ? "light" : "dark";
    root.dataset.theme = next;
    try { localStorage.setItem(KEY, next); } catch (e) { /* private mode: not remembered */ }
    label(button);
    document.dispatchEvent(new CustomEvent("jobdeck:theme", { detail: { theme: next } }));
  });
})();
