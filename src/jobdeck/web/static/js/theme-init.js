// Apply the remembered theme before the first paint, so a dark page never flashes light.
try {
  var t = localStorage.getItem("jobdeck-theme");
  if (t === "light" || t === "dark") document.documentElement.dataset.theme = t;
} catch (e) {}
