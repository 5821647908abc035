// Small progressive enhancements; everything works without them.

// htmx 4 "settles" an innerHTML/outerHTML swap: for every new element whose id matches an old one it
// copies the old element's class, style, width and height with setAttribute, and puts the new ones
// back a moment later (for CSS transitions, which we do not use). Under our CSP (style-src 'self')
// copying a style attribute is an inline style and is blocked and reported: it happens whenever an
// element carries one, e.g. a textarea the person resized before a 422 re-rendered its form. No
// settle delay, no copying. (htmx.min.js is loaded, deferred, before this file.)
if (window.htmx) window.htmx.config.defaultSettleDelay = 0;
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

// A second click while the first request is on its way would do the work twice (two redemptions, two
// awards). htmx already drops a second request from the same element while one is in flight; a plain
// POST form (the page is about to be replaced) gets its buttons rested for a moment instead. Disabled
// after the submit event has been handled, so the submitter still goes with the form.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post") return;
  const submitter = event.submitter;
  if (form.hasAttribute("hx-post") || (submitter && submitter.hasAttribute("hx-post"))) return;
  const buttons = Array.from(form.querySelectorAll("button:not([type=button])"));
  window.setTimeout(() => buttons.forEach((button) => { button.disabled = true; }), 0);
  window.setTimeout(() => buttons.forEach((button) => { button.disabled = false; }), 3000);
});
window.addEventListener("pageshow", () => {
  document.querySelectorAll("form button[disabled]").forEach((button) => { button.disabled = false; });
});
