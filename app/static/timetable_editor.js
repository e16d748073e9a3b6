// The weekly template editor of a class. Every change is sent as JSON. The server checks it
// for conflicts and returns 409 with their messages when it saved nothing. The person may
// then tick the override box and send the same change again with "override": true.
// A saved change reloads the page, so the grid is always the one the server wrote.
(function () {
  "use strict";
  var table = document.querySelector("table.editor-grid[data-place-url]");
  if (!table || !window.fetch) {
    return;
  }
  var conflictsBox = document.getElementById("editor-conflicts");
  var conflictList = conflictsBox.querySelector("ul");
  var overrideCheck = document.getElementById("editor-override");
  var overrideSave = document.getElementById("editor-override-save");
  var statusBox = document.getElementById("editor-status");
  // Health warnings never block a save. A refused change shows those it would bring, and
  // cancelling it shows the saved template's warnings again.
  var warningsBox = document.getElementById("editor-warnings");
  var savedWarnings = Array.prototype.map.call(
    warningsBox.querySelectorAll("li"),
    function (item) {
      return { message: item.textContent };
    }
  );
  // The change refused for its conflicts, kept until it is overridden or cancelled.
  var pending = null;

  function text(name) {
    return table.getAttribute("data-text-" + name) || "";
  }

  function showStatus(message) {
    statusBox.textContent = message;
    statusBox.classList.remove("hidden");
  }

  function hideConflicts() {
    if (pending) {
      showWarnings(savedWarnings);
    }
    pending = null;
    conflictsBox.classList.add("hidden");
    overrideCheck.checked = false;
    overrideSave.disabled = true;
  }

  function showWarnings(warnings) {
    var list = warningsBox.querySelector("ul");
    list.textContent = "";
    warnings.forEach(function (warning) {
      var item = document.createElement("li");
      item.textContent = warning.message;
      item.setAttribute("data-testid", "editor-warning");
      list.appendChild(item);
    });
    warningsBox.classList.toggle("hidden", warnings.length === 0);
  }

  function showConflicts(url, body, conflicts) {
    pending = { url: url, body: body };
    conflictList.textContent = "";
    conflicts.forEach(function (conflict) {
      var item = document.createElement("li");
      item.textContent = conflict.message;
      item.setAttribute("data-testid", "editor-conflict");
      conflictList.appendChild(item);
    });
    overrideCheck.checked = false;
    overrideSave.disabled = true;
    conflictsBox.classList.remove("hidden");
    conflictsBox.scrollIntoView({ block: "nearest" });
  }

  function send(url, body) {
    statusBox.classList.add("hidden");
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRFToken": table.getAttribute("data-csrf"),
      },
      body: JSON.stringify(body),
    })
      .then(function (response) {
        if (response.status === 404) {
          showStatus(text("missing"));
          return null;
        }
        return response.json().then(function (answer) {
          if (response.ok && answer.saved) {
            window.location.reload();
          } else if (response.status === 409) {
            showConflicts(url, body, answer.conflicts || []);
            showWarnings(answer.warnings || []);
          } else {
            showStatus(answer.message || text("failed"));
          }
          return answer;
        });
      })
      .catch(function () {
        showStatus(text("failed"));
      });
  }

  function field(form, name) {
    return form.elements[name].value;
  }

  // --- Placing ----------------------------------------------------------------------------

  var placeForm = document.getElementById("place-form");
  placeForm.addEventListener("submit", function (event) {
    event.preventDefault();
    hideConflicts();
    send(table.getAttribute("data-place-url"), {
      course: field(placeForm, "course"),
      room: field(placeForm, "room"),
      weekday: field(placeForm, "weekday"),
      lesson_number: field(placeForm, "lesson_number"),
      week_parity: field(placeForm, "week_parity"),
    });
  });

  // --- Moving and removing with the form -----------------------------------------------------

  var moveForm = document.getElementById("move-form");
  var entrySelect = moveForm.elements.entry;

  function chosenEntry() {
    return entrySelect.options[entrySelect.selectedIndex] || null;
  }

  moveForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var option = chosenEntry();
    if (!option) {
      return;
    }
    hideConflicts();
    var body = {
      weekday: field(moveForm, "weekday"),
      lesson_number: field(moveForm, "lesson_number"),
    };
    if (field(moveForm, "room") !== "keep") {
      body.room = field(moveForm, "room");
    }
    send(option.getAttribute("data-move-url"), body);
  });

  document.getElementById("remove-button").addEventListener("click", function () {
    var option = chosenEntry();
    if (!option || !window.confirm(text("remove"))) {
      return;
    }
    hideConflicts();
    send(option.getAttribute("data-remove-url"), {});
  });

  // A click on a lesson chooses it in the move form.
  table.addEventListener("click", function (event) {
    var card = event.target.closest(".editor-entry");
    if (card) {
      entrySelect.value = card.getAttribute("data-entry");
    }
  });

  // --- Dragging ---------------------------------------------------------------------------

  var dragged = null;
  table.addEventListener("dragstart", function (event) {
    var card = event.target.closest(".editor-entry");
    if (!card) {
      return;
    }
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-entry"));
  });

  table.addEventListener("dragover", function (event) {
    var cell = event.target.closest("td.editor-cell");
    if (dragged && cell) {
      event.preventDefault();
      cell.classList.add("editor-drop");
    }
  });

  table.addEventListener("dragleave", function (event) {
    var cell = event.target.closest("td.editor-cell");
    if (cell) {
      cell.classList.remove("editor-drop");
    }
  });

  table.addEventListener("drop", function (event) {
    var cell = event.target.closest("td.editor-cell");
    if (!dragged || !cell) {
      return;
    }
    event.preventDefault();
    cell.classList.remove("editor-drop");
    var card = dragged;
    dragged = null;
    if (card.parentNode === cell) {
      return;
    }
    hideConflicts();
    send(card.getAttribute("data-move-url"), {
      weekday: cell.getAttribute("data-weekday"),
      lesson_number: cell.getAttribute("data-number"),
    });
  });

  // --- Overriding -----------------------------------------------------------------------------

  overrideCheck.addEventListener("change", function () {
    overrideSave.disabled = !overrideCheck.checked;
  });

  overrideSave.addEventListener("click", function () {
    if (!pending || !overrideCheck.checked) {
      return;
    }
    var body = Object.assign({}, pending.body, { override: true });
    send(pending.url, body);
  });

  document.getElementById("editor-override-cancel").addEventListener("click", hideConflicts);
})();
