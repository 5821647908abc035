// The management report: the "Print" button (no inline script under the CSP).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-print]") : null;
    if (button) {
      event.preventDefault();
      window.print();
    }
  });
})();

// Printed, the channels folded away show too (a closed <details> prints closed).
window.addEventListener("beforeprint", function () {
  document.querySelectorAll("details.more-channels").forEach(function (details) { details.open = true; });
});
