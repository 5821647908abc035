// The review page: "select all on this page" for the held points, and a question before a bulk
// rejection (the button says what it asks in data-confirm). Everything works without it.
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.classList.contains("review-select-all")) return;
  document.querySelectorAll('input[name="hold_id"][form="holds-bulk"]').forEach((item) => {
    item.checked = box.checked;
  });
});
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (button instanceof HTMLElement && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
});
