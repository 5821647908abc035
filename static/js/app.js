// Small progressive enhancements; everything works without them.
document.addEventListener("DOMContentLoaded", () => {
  // Put the keyboard on the first field with an error, or the error summary.
  const invalid = document.querySelector("[aria-invalid='true']");
  if (invalid) invalid.focus();
});
document.addEventListener("htmx:after:swap", (event) => {
  const target = event.target;
  if (!(target instanceof Element)) return;
  const invalid = target.querySelector ? target.querySelector("[aria-invalid='true']") : null;
  if (invalid) invalid.focus();
});
// Plain forms that undo something ask first: <form data-confirm="Revoke this token?">.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
// The phone menu (<details class="menu">) also closes with Escape, leaving the keyboard on its button.
document.addEventListener("keydown", (event) => {
  const menu = document.querySelector("details.menu[open]");
  if (event.key === "Escape" && menu) {
    menu.open = false;
    menu.querySelector("summary").focus();
  }
});
