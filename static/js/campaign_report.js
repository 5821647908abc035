// The campaign report: the "Print" button (no inline script under the CSP).
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

// Printed, the numbers under the chart show too (a closed <details> prints closed).
window.addEventListener("beforeprint", () => {
  document.querySelectorAll("details.bars-numbers").forEach((details) => { details.open = true; });
});
