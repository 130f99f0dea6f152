// The decision-table editor of a draft file: dmn-js (served from node_modules) opening the
// table view of the file's decision, saving into the draft; "Save and validate" runs the
// deployment checks (the FEEL translation among them) and lists each finding, marking its cell.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("dmn-editor");
    if (!root || !window.DmnJS) { return; }
    var file = new window.DraftFile();
    // dmn-js takes additional modules per view, not from `common`
    var translated = { additionalModules: [window.designerTranslateModule || {}] };
    var modeler = new window.DmnJS({ container: root, common: { keyboard: { bindTo: window } },
                                     drd: translated, decisionTable: translated, literalExpression: translated });
    window.designerDmn = modeler;  // for the browser tests and the console
    modeler.on("views.changed", function (event) { showViews(event.views, event.activeView); });
    modeler.importXML(document.getElementById("dmn-source").value).then(function () {
      var table = modeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
      return table ? modeler.open(table) : null;
    }).then(function () {
      wire();
      root.setAttribute("data-ready", "true");
    }).catch(function (error) {
      root.setAttribute("data-ready", "error");
      var note = document.createElement("p");
      note.className = "flash flash-error";
      note.textContent = window.designerFormat(root.getAttribute("data-error-text"), { msg: error.message });
      root.parentNode.insertBefore(note, root);
    });

    function listenForChanges() {
      var viewer = modeler.getActiveViewer();
      if (viewer && !viewer.__watched) {
        viewer.__watched = true;
        viewer.get("eventBus").on("commandStack.changed", function () { file.changed(); });
      }
    }

    function showViews(views, active) {
      listenForChanges();
      var bar = document.getElementById("dmn-views");
      bar.innerHTML = "";
      bar.hidden = views.length < 2;
      var labels = { drd: root.getAttribute("data-drd-text"), decisionTable: root.getAttribute("data-table-text"),
                     literalExpression: root.getAttribute("data-literal-text") };
      views.forEach(function (view) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "btn btn-small btn-secondary";
        button.setAttribute("role", "tab");
        button.setAttribute("aria-selected", view === active ? "true" : "false");
        button.textContent = (labels[view.type] || view.type) + (view.element && view.element.name ? ": " + view.element.name : "");
        button.addEventListener("click", function () { modeler.open(view); });
        bar.appendChild(button);
      });
    }

    function save() {
      return modeler.saveXML({ format: true }).then(function (result) { return file.save(result.xml); });
    }

    function wire() {
      document.getElementById("save-button").addEventListener("click", function () { save().catch(function () {}); });
      document.getElementById("check-button").addEventListener("click", function () {
        save().then(function () { return file.post(file.form.getAttribute("data-validate-url"), {}); })
          .then(function (response) { return response.json(); })
          .then(show)
          .catch(function () {});
      });
    }

    function mark(id) {
      var cell = id && root.querySelector("[data-element-id='" + id.replace(/'/g, "") + "']");
      if (cell) { cell.classList.add("has-problem"); }
      return cell;
    }

    function show(verdict) {
      Array.prototype.forEach.call(root.querySelectorAll(".has-problem"), function (cell) {
        cell.classList.remove("has-problem");
      });
      window.designerFindings(verdict, function (problem) {
        var cell = mark(problem.element_id);
        return cell && function () { cell.scrollIntoView({ block: "center" }); cell.focus(); };
      });
    }
  });
})();
