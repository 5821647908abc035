// Timeline and connections: small enhancements; every form also works without them.
// (The panel that loads this can be swapped in again by htmx: listen once.)
if (!window.altavozTimeline) {
  window.altavozTimeline = true;
  // Enter in a person picker's search box looks people up instead of submitting the whole form.
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.key === "Enter" && target instanceof HTMLInputElement && target.classList.contains("picker-query")) {
      event.preventDefault();
    }
  });
}
