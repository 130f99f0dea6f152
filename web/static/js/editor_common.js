// What the modeler, the DMN editor and the form editor share: saving a file of the draft (with
// the draft's revision, so a save over someone else's is refused with 409), the save-state line,
// a warning before leaving with unsaved changes, and the validation findings panel.
(function () {
  "use strict";
  function format(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
  }
  function DraftFile() {
    this.form = document.getElementById("save-form");
    this.state = document.getElementById("save-state");
    this.dirty = false;
    var self = this;
    window.addEventListener("beforeunload", function (event) {
      if (self.dirty) { event.preventDefault(); event.returnValue = ""; }
    });
  }
  DraftFile.prototype.show = function (which, message) {
    this.state.textContent = format(this.state.getAttribute("data-" + which + "-text"), { msg: message || "" });
    this.state.setAttribute("data-state", which);
  };
  DraftFile.prototype.changed = function () { this.dirty = true; this.show("unsaved"); };
  DraftFile.prototype.post = function (url, fields, accept) {
    var body = new FormData(this.form);
    Object.keys(fields || {}).forEach(function (k) { body.set(k, fields[k]); });
    return fetch(url, { method: "POST", body: body, credentials: "same-origin",
                        headers: { "Accept": accept || "application/json" } });
  };
  DraftFile.prototype.save = function (content) {
    var self = this;
    self.show("saving");
    return self.post(self.form.getAttribute("action"), { content: content }).then(function (response) {
      return response.json().then(function (body) {
        if (response.status === 409) { self.show("conflict"); throw new Error("conflict"); }
        if (!response.ok) {
          var message = body && body.error ? body.error.message : ("HTTP " + response.status);
          self.show("error", message);
          throw new Error(message);
        }
        self.form.querySelector("[name=revision]").value = body.revision;
        self.dirty = false;
        self.show("saved");
        return body;
      });
    });
  };
  // The findings panel: the verdict's summary and one list item per problem; `locate(problem)`
  // gives the editor's action for a problem it can show (or nothing), and the item then links to it.
  function showFindings(verdict, locate) {
    var list = document.getElementById("findings-list");
    var summary = document.getElementById("findings-summary");
    list.innerHTML = "";
    document.getElementById("findings-empty").hidden = true;
    summary.hidden = false;
    summary.className = verdict.valid ? "flash flash-success" : "flash flash-error";
    summary.textContent = verdict.valid ? summary.getAttribute("data-valid-text")
      : format(summary.getAttribute("data-invalid-text"), { n: verdict.problems.length });
    document.getElementById("findings").setAttribute("data-valid", verdict.valid ? "true" : "false");
    verdict.problems.forEach(function (problem) {
      var item = document.createElement("li");
      item.setAttribute("data-element", problem.element_id || "");
      item.textContent = problem.file + (problem.line ? ":" + problem.line : "") +
        (problem.element_id ? " [" + problem.element_id + "]" : "") + ": " + problem.message;
      list.appendChild(item);
      var go = locate(problem);
      if (!go) { return; }
      item.classList.add("linked");
      item.tabIndex = 0;
      item.addEventListener("click", go);
    });
  }
  window.DraftFile = DraftFile;
  window.designerFindings = showFindings;
  window.designerFormat = format;
})();
