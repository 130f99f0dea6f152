// The form editor of a draft file: form-js's editor (served from node_modules) saving into the
// draft, and a preview rendered by the server exactly as reviewers will see the form.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("form-editor");
    if (!root || !window.FormEditor) { return; }
    var file = new window.DraftFile();
    var schema;
    try {
      schema = JSON.parse(document.getElementById("form-source").value);
    } catch (error) {
      root.setAttribute("data-ready", "error");
      root.textContent = window.designerFormat(root.getAttribute("data-error-text"), { msg: error.message });
      return;
    }
    var editor = new window.FormEditor.FormEditor({ container: root });
    window.designerFormEditor = editor;  // for the browser tests and the console
    if (window.translateFormEditor) { window.translateFormEditor(root); }
    editor.importSchema(schema).then(function () {
      editor.on("changed", function () { file.changed(); });
      root.setAttribute("data-ready", "true");
    }).catch(function (error) {
      root.setAttribute("data-ready", "error");
      root.textContent = window.designerFormat(root.getAttribute("data-error-text"), { msg: error.message });
    });
    function current() { return JSON.stringify(editor.saveSchema(), null, 2); }
    document.getElementById("save-button").addEventListener("click", function () {
      file.save(current()).catch(function () {});
    });
    document.getElementById("preview-button").addEventListener("click", function () {
      file.post(file.form.getAttribute("data-preview-url"), { schema: current() }, "text/html")
        .then(function (response) { return response.text(); })
        .then(function (html) {
          var box = document.getElementById("form-preview");
          box.hidden = false;
          document.getElementById("form-preview-body").outerHTML = html;
          box.setAttribute("data-ready", "true");
        });
    });
  });
})();
