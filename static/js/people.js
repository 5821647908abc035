// The header's global search and the people list (progressive enhancement; everything works without it).
(() => {
  const box = () => document.getElementById("global-q");
  const panel = () => document.getElementById("global-search-results");
  const items = () => Array.from(panel()?.querySelectorAll("[data-match]") || []);
  const typing = (el) =>
    el instanceof HTMLElement && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));

  function setOpen(open) {
    const input = box();
    const results = panel();
    if (!input || !results) return;
    if (!open) results.replaceChildren();
    results.classList.toggle("open", open && results.children.length > 0);
    input.setAttribute("aria-expanded", String(open && results.children.length > 0));
  }

  document.addEventListener("keydown", (event) => {
    const input = box();
    if (!input) return;
    // "/" (when not already typing) or Ctrl+K / Cmd+K: to the search box.
    const ctrlK = (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k";
    if (ctrlK || (event.key === "/" && !typing(event.target) && !event.altKey && !event.ctrlKey && !event.metaKey)) {
      event.preventDefault();
      input.focus();
      input.select();
      return;
    }
    // Arrows move through the dropdown; Escape closes it and goes back to the box.
    const list = items();
    const inside = panel()?.contains(document.activeElement);
    if (event.target === input || inside) {
      const at = list.indexOf(document.activeElement);
      if (event.key === "ArrowDown" && list.length) {
        event.preventDefault();
        list[Math.min(at + 1, list.length - 1)].focus();
      } else if (event.key === "ArrowUp" && inside) {
        event.preventDefault();
        if (at <= 0) input.focus(); else list[at - 1].focus();
      } else if (event.key === "Escape") {
        setOpen(false);
        input.focus();
      }
    }
  });

  // htmx 4 fires the swap events on the element that made the request (the search box), not on the
  // results panel it swapped: open the panel when either is involved and the panel has results.
  document.addEventListener("htmx:after:swap", (event) => {
    const results = panel();
    if (!results) return;
    const involved = event.target === box() || event.target === results || results.contains(event.target);
    if (involved) setOpen(results.children.length > 0 || results.textContent.trim() !== "");
  });

  // A click or focus elsewhere closes the dropdown.
  document.addEventListener("focusin", (event) => {
    const form = box()?.form;
    if (form && !form.contains(event.target)) setOpen(false);
  });
  document.addEventListener("click", (event) => {
    const form = box()?.form;
    if (form && !form.contains(event.target)) setOpen(false);
  });
})();
