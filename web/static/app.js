// gatehouse's one script. Every form works without it; it only moves keyboard focus to the
// first field with an error after a refused form, so the error is read out and fixable at once.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var bad = document.querySelector("[aria-invalid=true]");
  if (bad) { bad.focus(); return; }
  var summary = document.getElementById("form-error");
  if (summary) { summary.setAttribute("tabindex", "-1"); summary.focus(); }
});

// Copy buttons (recovery codes): shown only when the clipboard can be used; without the script
// the codes can still be selected or downloaded.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    var src = document.getElementById(b.getAttribute("data-copy"));
    if (!src || !navigator.clipboard) { return; }
    b.hidden = false;
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(src.textContent.trim()).then(function () {
        b.textContent = "Copied";
      }, function () {
        b.textContent = "Copying failed: select the codes instead";
      });
    });
  });
});
