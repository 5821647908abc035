// The person form's identity rows: remove a row, and keep the keyboard in a sensible place when htmx
// fills a row from a pasted link (on to the followers) or refills the rows from the links box.
(() => {
  document.documentElement.classList.add("identities-js");
  let focusAfterSwap = null; // id of the field to focus once htmx has swapped
  let lastFocused = null;

  document.addEventListener("focusin", (event) => {
    const field = event.target;
    if (field instanceof HTMLElement && field.id && field.closest("#identities")) lastFocused = field.id;
  });

  document.addEventListener("paste", (event) => {
    const field = event.target;
    if (!(field instanceof HTMLElement)) return;
    if (field.dataset.identityUrl !== undefined) {
      focusAfterSwap = `f-identities-${field.dataset.identityUrl}-followers`;
    } else if (field.id === "f-links") {
      focusAfterSwap = "f-links";
    }
  });

  document.addEventListener("keydown", (event) => {
    // Enter in a link field fills its row instead of saving the whole form half-typed.
    const field = event.target;
    if (event.key === "Enter" && field instanceof HTMLInputElement && field.dataset.identityUrl !== undefined) {
      event.preventDefault();
      focusAfterSwap = `f-identities-${field.dataset.identityUrl}-followers`;
      field.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });

  document.addEventListener("htmx:after:swap", () => {
    const wanted = focusAfterSwap || (document.activeElement === document.body ? lastFocused : null);
    focusAfterSwap = null;
    const field = wanted ? document.getElementById(wanted) : null;
    if (field && !document.querySelector("#identities [aria-invalid='true']")) field.focus();
  });

  document.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest("[data-remove-identity]") : null;
    if (!button) return;
    const row = button.closest(".identity-row");
    if (!row) return;
    // The row's fields leave the form, so saving deletes that identity (the service removes those left out).
    const next = row.nextElementSibling?.querySelector("input") || document.getElementById("add-identity");
    row.remove();
    if (next) next.focus();
  });
})();
