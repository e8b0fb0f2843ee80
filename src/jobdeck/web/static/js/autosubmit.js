// Selects marked data-jd-autosubmit submit their form when changed (no inline handlers: the CSP allows none).
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-jd-autosubmit") && target.form) {
    target.form.submit();
  }
});
