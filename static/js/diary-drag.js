// Drag an appointment onto a free slot of the grid to move it. The drop only opens the
// review page of the move (the same page the "Choose from the free times" buttons lead
// to), where one button saves it; without JavaScript those buttons are the way.
(function () {
  "use strict";
  var dragged = null;

  document.addEventListener("dragstart", function (event) {
    var block = event.target.closest && event.target.closest("[data-move-url]");
    if (!block) {
      return;
    }
    dragged = block;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", block.getAttribute("data-move-url"));
  });

  document.addEventListener("dragend", function () {
    dragged = null;
    document.querySelectorAll(".slot-drop-target").forEach(function (cell) {
      cell.classList.remove("slot-drop-target");
    });
  });

  function freeCell(event) {
    return event.target.closest && event.target.closest("td[data-start]");
  }

  document.addEventListener("dragover", function (event) {
    var cell = freeCell(event);
    if (dragged && cell) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      cell.classList.add("slot-drop-target");
    }
  });

  document.addEventListener("dragleave", function (event) {
    var cell = freeCell(event);
    if (cell) {
      cell.classList.remove("slot-drop-target");
    }
  });

  document.addEventListener("drop", function (event) {
    var cell = freeCell(event);
    if (!dragged || !cell) {
      return;
    }
    event.preventDefault();
    var url = new URL(dragged.getAttribute("data-move-url"), window.location.href);
    url.searchParams.set("start", cell.getAttribute("data-start"));
    url.searchParams.set("practitioner", cell.getAttribute("data-practitioner"));
    window.location.assign(url.toString());
  });
})();
