// gatehouse's one script. Every form works without it; it only moves keyboard focus to the
// first field with an error after a refused form, so the error is read out and fixable at once.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var bad = document.querySelector("[aria-invalid=true]");
  if (bad) { bad.focus(); return; }
  var summary = document.getElementById("form-error");
  if (summary) { summary.setAttribute("tabindex", "-1"); summary.focus(); }
});
