// Merge screen: mark the rows whose surviving value comes from the other person, so the choices
// made are visible at a glance before confirming (the page works without this script).
function markMergeChoices(root) {
  root.querySelectorAll("table.merge-fields tr[data-field]").forEach((row) => {
    const picked = row.querySelector("input[type=radio]:checked");
    row.classList.toggle("taken-from-other", !!picked && picked.value !== "survivor");
  });
}
document.addEventListener("change", (event) => {
  if (event.target instanceof HTMLInputElement && event.target.name.startsWith("choice-")) markMergeChoices(document);
});
document.addEventListener("DOMContentLoaded", () => markMergeChoices(document));
document.addEventListener("htmx:after:swap", () => markMergeChoices(document));
