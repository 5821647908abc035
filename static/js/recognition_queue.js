// The "not yet thanked" queue: tick everyone on the page, and say how many are ticked.
(function () {
  function update(root) {
    var boxes = root.querySelectorAll('input[name="profile_ids"][form="queue-form"]');
    var ticked = 0;
    boxes.forEach(function (box) { if (box.checked) { ticked += 1; } });
    var out = root.querySelector("[data-ticked]");
    if (out) { out.textContent = ticked ? "(" + ticked + ")" : ""; }
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLInputElement)) { return; }
    var root = document.getElementById("queue");
    if (!root || !root.contains(target)) { return; }
    if (target.hasAttribute("data-tick-all")) {
      root.querySelectorAll('input[name="profile_ids"][form="queue-form"]').forEach(function (box) {
        box.checked = target.checked;
      });
    }
    update(root);
  });
})();
