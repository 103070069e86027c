// Production-area pages: confirm asks first, then shows progress while the dossier is made.
// Served by the app (the Content-Security-Policy allows no inline script).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("confirm-form");
    if (!form) return;
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent === "1" || !window.confirm(form.dataset.ask)) {
        event.preventDefault(); // asked and refused, or a second click while the first one runs
        return;
      }
      form.dataset.sent = "1";
      var button = document.getElementById("confirm-version");
      var progress = document.getElementById("confirm-progress");
      if (progress) progress.hidden = false;
      // disabled after the submit has started, so the button's value is still sent
      window.setTimeout(function () { if (button) button.disabled = true; }, 0);
    });
  });
})();
