// Saved views and bulk actions on the people list. No inline script (CSP): behaviour hangs off classes.
(function () {
  "use strict";

  // Forms that carry "the list as it is now" read it from the address bar when sent: filters changed
  // through htmx push their URL, so the value rendered with the page may be out of date.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || window.location.pathname !== "/people") return;
    form.querySelectorAll("input[data-list-query]").forEach(function (input) {
      input.value = window.location.search.replace(/^\?/, "");
    });
  }, true);

  function rowBoxes() {
    return Array.prototype.slice.call(document.querySelectorAll('input[name="ids"][form="bulk-form"]'));
  }

  function updateCount() {
    var output = document.querySelector("#bulk-form .bulk-count");
    if (!output) return;
    var ticked = rowBoxes().filter(function (box) { return box.checked; }).length;
    output.textContent = ticked ? "(" + ticked + ")" : "";
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLInputElement)) return;
    if (target.classList.contains("bulk-select-page")) {
      rowBoxes().forEach(function (box) { box.checked = target.checked; });
    }
    if (target.classList.contains("bulk-select-page") || (target.name === "ids" && target.getAttribute("form") === "bulk-form")) {
      updateCount();
      var selected = document.querySelector('#bulk-form input[name="scope"][value="selected"]');
      if (selected && target.checked) selected.checked = true;
    }
  });
})();
