// Lesson form of the class journal: the weight of a new assignment follows the chosen
// type's default weight until the teacher types another one.
(function () {
  "use strict";
  var typeSelect = document.getElementById("new_type");
  var weightInput = document.getElementById("new_weight");
  if (!typeSelect || !weightInput) {
    return;
  }
  typeSelect.addEventListener("change", function () {
    var option = typeSelect.options[typeSelect.selectedIndex];
    weightInput.placeholder = option.getAttribute("data-weight") || "";
  });
})();
