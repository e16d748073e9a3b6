// Keyboard entry in the course grid of the class journal. A mark cell turns into an input
// while it is edited and is saved on its own when the teacher leaves it. Only the edited
// cell contains an input, one delegated listener per event type serves the whole table, and
// moving between cells reads no layout, so a 35 × 60 term stays quick.
(function () {
  "use strict";
  var table = document.querySelector("table.journal-grid-editable");
  if (!table || !window.fetch) {
    return;
  }
  var body = table.tBodies[0];
  var header = table.tHead.rows[0];
  var live = document.querySelector("[data-testid=grid-live]");
  var STATES = ["cell-saving", "cell-saved", "cell-failed"];
  // Cells whose save is in flight: a new value of such a cell is sent after the response,
  // with the value the server stored by then.
  var pending = new WeakMap();
  // The cell where Tab enters the grid, which is the last one edited (a roving tabindex).
  var rover = body.querySelector("td.grid-cell");
  if (!rover) {
    return;
  }
  rover.tabIndex = 0;

  function text(name) {
    return table.getAttribute("data-text-" + name) || "";
  }

  function isEditor(element) {
    return element.classList.contains("grid-input");
  }

  function isCell(element) {
    return element.classList.contains("grid-cell");
  }

  function cellLabel(cell) {
    var student = cell.parentNode.cells[0].textContent.trim();
    var lesson = header.cells[cell.cellIndex].querySelector("a");
    return student + ", " + (lesson ? lesson.textContent.trim() : "");
  }

  // --- Opening and closing the input of a cell ----------------------------------------

  function open(cell) {
    if (cell.querySelector("input.grid-input")) {
      return;
    }
    // While the input is open the cell itself is out of the Tab order, so that Tab at
    // the grid's edge leaves the grid.
    rover.tabIndex = -1;
    rover = cell;
    cell.tabIndex = -1;
    var input = document.createElement("input");
    input.className = "grid-input";
    input.type = "text";
    input.size = 3;
    input.maxLength = 10;
    input.autocomplete = "off";
    input.spellcheck = false;
    input.setAttribute("aria-label", cellLabel(cell));
    var typed = cell.getAttribute("data-typed");
    input.value = typed !== null ? typed : cell.getAttribute("data-seen");
    var locked = cell.getAttribute("data-locked");
    if (locked) {
      // The lock message is written once, on the lesson's column header.
      var header = document.getElementById("lock-" + locked);
      input.readOnly = true;
      input.title = header ? header.getAttribute("data-lock-message") : "";
    }
    var note = cell.querySelector(".grid-status");
    if (note) {
      input.setAttribute("aria-describedby", note.id);
    }
    cell.classList.add("cell-editing");
    cell.insertBefore(input, cell.firstChild);
    input.focus();
    input.select();
  }

  // Remove the input and send its value when it differs from the stored one.
  function close(input) {
    var cell = input.parentNode;
    if (!cell) {
      return;
    }
    var value = input.value.trim();
    cell.removeChild(input);
    cell.classList.remove("cell-editing");
    if (cell === rover) {
      cell.tabIndex = 0;
    }
    // While a save is in flight the stored value is not known yet: keep what was typed,
    // and it is sent after the answer if it differs from what was sent.
    if (value === cell.getAttribute("data-seen") && !pending.has(cell)) {
      cell.removeAttribute("data-typed");
      return;
    }
    cell.setAttribute("data-typed", value);
    save(cell);
  }

  // --- Moving between cells -----------------------------------------------------------

  // The next mark cell from this one in one direction, skipping lessons without an
  // assignment; with ``wrap`` (Tab) it runs on to the next or previous row.
  function nextCell(cell, rowStep, cellStep, wrap) {
    var rowIndex = cell.parentNode.sectionRowIndex;
    var cellIndex = cell.cellIndex;
    var width = header.cells.length;
    for (;;) {
      rowIndex += rowStep;
      cellIndex += cellStep;
      if (wrap && cellIndex >= width) {
        rowIndex += 1;
        cellIndex = 0;
      } else if (wrap && cellIndex < 0) {
        rowIndex -= 1;
        cellIndex = width - 1;
      }
      var row = body.rows[rowIndex];
      if (!row || cellIndex < 0 || cellIndex >= width) {
        return null;
      }
      var found = row.cells[cellIndex];
      if (found && isCell(found)) {
        return found;
      }
    }
  }

  // Open the input of another cell: the focus leaves this one, which closes and saves it.
  function moveTo(cell) {
    if (cell) {
      open(cell);
    }
    return Boolean(cell);
  }

  function wholeSelected(input) {
    return input.selectionStart === 0 && input.selectionEnd === input.value.length;
  }

  function move(input, key, shift) {
    var cell = input.parentNode;
    switch (key) {
      case "Enter":
        // At the last row Enter saves the cell and stays in it.
        if (!moveTo(nextCell(cell, 1, 0, false))) {
          input.blur();
          open(cell);
        }
        return true;
      case "Tab":
        return moveTo(nextCell(cell, 0, shift ? -1 : 1, true));
      case "ArrowDown":
        return moveTo(nextCell(cell, 1, 0, false));
      case "ArrowUp":
        return moveTo(nextCell(cell, -1, 0, false));
      case "ArrowLeft":
        return (input.selectionEnd === 0 || wholeSelected(input)) &&
          moveTo(nextCell(cell, 0, -1, false));
      case "ArrowRight":
        return (input.selectionStart === input.value.length || wholeSelected(input)) &&
          moveTo(nextCell(cell, 0, 1, false));
      case "Escape":
        cell.removeAttribute("data-typed");
        input.value = cell.getAttribute("data-seen");
        input.select();
        return true;
    }
    return false;
  }

  table.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!isEditor(input) || event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    if (move(input, event.key, event.shiftKey)) {
      event.preventDefault();
    }
  });

  // A cell reached with Tab or a click opens its input.
  table.addEventListener("focusin", function (event) {
    if (isCell(event.target)) {
      open(event.target);
    }
  });

  table.addEventListener("focusout", function (event) {
    if (isEditor(event.target)) {
      close(event.target);
    }
  });

  // --- Saving a cell ------------------------------------------------------------------

  function setState(cell, state, message) {
    STATES.forEach(function (name) {
      cell.classList.remove(name);
    });
    cell.classList.add("cell-" + state);
    var note = cell.querySelector(".grid-status");
    if (!note) {
      // Made only for the cells the teacher touched, not for every cell of the page.
      note = document.createElement("span");
      note.className = "grid-status sr-only";
      note.id = "grid-status-" + cell.parentNode.getAttribute("data-student") + "-" +
        cell.getAttribute("data-lesson");
      note.setAttribute("data-testid", "cell-status");
      cell.appendChild(note);
    }
    note.textContent = message ? text(state) + ": " + message : text(state);
    note.setAttribute("data-state", state);
    if (state === "failed") {
      cell.title = message;
    } else {
      cell.removeAttribute("title");
    }
    if (live && state !== "saving") {
      live.textContent = cellLabel(cell) + " — " + note.textContent;
    }
  }

  // Show a mark as the server stored it, in the cell and, if open, in its input.
  function showMark(cell, data, sent) {
    cell.setAttribute("data-seen", data.value);
    var shown = cell.querySelector(".grid-value");
    shown.textContent = data.display;
    shown.className = "grid-value";
    shown.removeAttribute("title");
    if (data.kind) {
      shown.className += " mark mark-" + (data.kind === "number" ? data.value : data.kind);
    }
    var input = cell.querySelector("input.grid-input");
    if (input && (sent === undefined || input.value.trim() === sent)) {
      input.value = data.value;
    }
    var average = cell.parentNode.querySelector("[data-testid=average] strong");
    if (average && typeof data.average === "string") {
      average.textContent = data.average;
    }
  }

  function save(cell) {
    if (pending.has(cell) || cell.getAttribute("data-locked")) {
      return;
    }
    var value = cell.getAttribute("data-typed");
    var url = header.cells[cell.cellIndex].getAttribute("data-url");
    setState(cell, "saving");
    var request = fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": table.getAttribute("data-csrf"),
      },
      body: JSON.stringify({
        student: cell.parentNode.getAttribute("data-student"),
        assignment: cell.getAttribute("data-assignment"),
        term: table.getAttribute("data-term"),
        value: value,
        seen: cell.getAttribute("data-seen"),
      }),
    })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (response.redirected || type.indexOf("application/json") !== 0) {
          // An ended session is redirected to the login page, which is no JSON.
          var reason = "error";
          if (response.redirected) {
            reason = "session";
          } else if (response.status === 404) {
            reason = "missing";
          }
          setState(cell, "failed", text(reason));
          return null;
        }
        return response.json().then(function (data) {
          finish(cell, response.status, data, value);
        });
      })
      .catch(function () {
        setState(cell, "failed", text("error"));
      })
      .then(function () {
        pending.delete(cell);
        // The teacher typed another value and left the cell while it was being saved.
        var typed = cell.getAttribute("data-typed");
        if (typed !== null && typed !== value && !cell.querySelector("input.grid-input")) {
          save(cell);
        }
      });
    pending.set(cell, request);
  }

  function finish(cell, status, data, sent) {
    if (status === 200) {
      if (cell.getAttribute("data-typed") === sent) {
        cell.removeAttribute("data-typed");
      }
      showMark(cell, data, sent);
      setState(cell, "saved");
    } else if (status === 409) {
      // Another user changed the cell: show their value, drop what was typed here.
      cell.removeAttribute("data-typed");
      showMark(cell, data);
      setState(cell, "failed", data.message);
    } else {
      setState(cell, "failed", data.message || text("error"));
    }
  }
})();
