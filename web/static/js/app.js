// Small behaviours for every page (no inline scripts: the CSP forbids them).
(function () {
  "use strict";

  // Forms and buttons with data-confirm ask before a destructive action.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // "Select all" checkbox of a table.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.matches("[data-select-all]")) {
      var table = box.closest("table");
      table.querySelectorAll(".row-select").forEach(function (row) { row.checked = box.checked; });
    }
    if (box.matches("select[data-autosubmit]")) {
      box.form.submit();
    }
  });

  // The inbox poll must not reload the table under a user who is selecting rows or typing.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var source = event.detail.elt;
    if (!source || !source.id || source.id !== "inbox-table") { return; }
    var trigger = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
    if (trigger && trigger.type === "inbox-changed" && source.querySelector(".row-select:checked")) {
      event.preventDefault();
    }
  });

  // Dynamic lists in forms: "Add a row" copies the last row with empty inputs and new indices.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-add-row]");
    if (!button) { return; }
    var list = button.closest("[data-list]");
    var rows = list.querySelectorAll(".list-row");
    if (!rows.length) { return; }
    var last = rows[rows.length - 1];
    // rows may have been removed: the next index is past the highest, never one still in use
    var index = 0;
    rows.forEach(function (row) { index = Math.max(index, Number(row.getAttribute("data-row")) + 1); });
    var name = list.getAttribute("data-list");
    var copy = last.cloneNode(true);
    copy.setAttribute("data-row", String(index));
    copy.querySelectorAll("[name]").forEach(function (input) {
      input.name = input.name.replace(new RegExp("^" + name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "\\.\\d+\\."), name + "." + index + ".");
      if (input.id) { input.id = input.id + "_" + index; }
      if (input.type === "checkbox" || input.type === "radio") { input.checked = false; } else { input.value = ""; }
    });
    copy.querySelectorAll("label[for]").forEach(function (label) { label.htmlFor = label.htmlFor + "_" + index; });
    copy.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
    last.after(copy);
    var first = copy.querySelector("input, select, textarea");
    if (first) { first.focus(); }
  });

  // Remove a row of a dynamic list; the last one left is emptied instead, so a row can still
  // be added by copying it. The server reads whichever indices are present.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-remove-row]");
    if (!button) { return; }
    var row = button.closest(".list-row");
    var list = row.closest("[data-list]");
    if (list.querySelectorAll(".list-row").length > 1) {
      row.remove();
    } else {
      row.querySelectorAll("[name]").forEach(function (input) {
        if (input.type === "checkbox" || input.type === "radio") { input.checked = false; } else { input.value = ""; }
      });
    }
    var add = list.querySelector("[data-add-row]");
    if (add) { add.focus(); }
  });

  // A field required only for some answers of another (a comment for a return or a refusal:
  // the form's requiredWhen, which the server checks) shows its mark while it applies.
  function markConditionalFields() {
    document.querySelectorAll("[data-required-when]").forEach(function (field) {
      var form = field.closest("form");
      if (!form) { return; }
      var wanted = field.getAttribute("data-required-values").split(" ");
      var chosen = Array.prototype.filter.call(form.elements, function (input) {
        return input.name === field.getAttribute("data-required-when") &&
          ((input.type !== "radio" && input.type !== "checkbox") || input.checked);
      }).map(function (input) { return input.value; });
      var applies = chosen.some(function (value) { return wanted.indexOf(value) !== -1; });
      field.querySelectorAll("[data-required-mark]").forEach(function (mark) { mark.hidden = !applies; });
    });
  }
  document.addEventListener("change", markConditionalFields);
  document.addEventListener("DOMContentLoaded", markConditionalFields);

  // After a failed submission, move focus to the error summary so screen readers announce it.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  });
})();

// The phone header's menu toggle: opens and closes the menu below the compact bar.
document.addEventListener("click", function (event) {
  "use strict";
  var toggle = event.target.closest(".menu-toggle");
  if (!toggle) { return; }
  var open = toggle.getAttribute("aria-expanded") !== "true";
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
  toggle.closest(".topbar").classList.toggle("menu-open", open);
});
