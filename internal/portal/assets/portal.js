// keyless portal: small progressive enhancements. Every page works
// without this file; it only shows progress and filters long lists.
(function () {
  "use strict";
  // Forms marked data-progress show a progress bar and disable their
  // buttons while the server runs the change (deleting a resource group
  // takes a moment), so a second click cannot send it twice.
  document.querySelectorAll("form[data-progress]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var box = form.querySelector(".progress");
      if (!box) {
        box = document.createElement("div");
        box.className = "progress";
        box.setAttribute("role", "status");
        box.setAttribute("aria-live", "polite");
        box.innerHTML = '<span class="bar" aria-hidden="true"></span><span class="progress-text"></span>';
        form.appendChild(box);
      }
      box.querySelector(".progress-text").textContent = form.getAttribute("data-progress");
      box.hidden = false;
      form.querySelectorAll("button").forEach(function (b) {
        setTimeout(function () { b.disabled = true; }, 0);
      });
      form.setAttribute("aria-busy", "true");
    });
  });
  // Search boxes filter the list whose id they name.
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("data-filter"));
    if (!list) { return; }
    input.addEventListener("input", function () {
      var q = input.value.toLowerCase().trim();
      list.querySelectorAll("li[data-text]").forEach(function (li) {
        li.hidden = q !== "" && li.getAttribute("data-text").indexOf(q) < 0;
      });
    });
  });
})();
