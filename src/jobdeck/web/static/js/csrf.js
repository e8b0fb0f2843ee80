// A signed-in session's CSRF token on every state-changing request the page makes: as the
// X-CSRF-Token header on fetch() to this site (htmx sends it from hx-headers on <body>), and as a
// csrf_token field on every POST form. Loaded first, before the scripts that fetch.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="jobdeck-csrf"]');
  var token = meta && meta.content;
  if (!token) return;
  var SAFE = { GET: 1, HEAD: 1, OPTIONS: 1 };
  var original = window.fetch;
  window.fetch = function (input, init) {
    var url = new URL(typeof input === "string" ? input : input.url, location.href);
    var method = ((init && init.method) || (input && input.method) || "GET").toUpperCase();
    if (url.origin === location.origin && !SAFE[method]) {
      init = Object.assign({}, init);
      var headers = new Headers(init.headers || (input instanceof Request ? input.headers : undefined));
      headers.set("X-CSRF-Token", token);
      init.headers = headers;
    }
    return original.call(this, input, init);
  };
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || (form.method || "").toLowerCase() !== "post") return;
    if (!form.querySelector('input[name="csrf_token"]')) {
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = "csrf_token";
      field.value = token;
      form.appendChild(field);
    }
  }, true);
})();
