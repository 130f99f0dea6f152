// What the modeler and the form editor share: saving a file of the draft (with the draft's
// revision, so a save over someone else's is refused with 409), the save-state line, and a
// warning before leaving with unsaved changes.
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
  window.DraftFile = DraftFile;
  window.designerFormat = format;
})();
