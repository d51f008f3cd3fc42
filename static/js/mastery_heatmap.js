// The gradebook's mastery heatmap (students by concepts): each live update from
// gradebook.js carries the student's P(known) per concept; the cell's text and colour
// step change without a reload.
(function () {
  "use strict";

  document.addEventListener("gradebook:update", function (event) {
    var message = event.detail || {};
    (message.mastery || []).forEach(function (cell) {
      var node = document.querySelector(
        'td[data-mastery-student="' + message.student + '"][data-concept="' + cell.concept + '"]'
      );
      if (!node) return;
      node.textContent = cell.percent + "%";
      node.className = "mastery-" + cell.bucket + " mastery-flash";
      window.setTimeout(function () { node.classList.remove("mastery-flash"); }, 1500);
    });
  });
})();
