// The BPMN modeler of a draft file: bpmn-js Modeler with the Camunda 7 properties panel (served
// from node_modules), saving into the draft; "Save and validate" runs the deployment checks and
// lists each finding, marked on its element in the diagram.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("modeler");
    if (!root || !window.BpmnJS || !window.BpmnJSPropertiesPanel) { return; }
    var file = new window.DraftFile();
    var panel = window.BpmnJSPropertiesPanel;
    var markers = [];
    fetch(root.getAttribute("data-moddle-url"), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (camunda) {
        var modeler = new window.BpmnJS({
          container: "#canvas",
          propertiesPanel: { parent: "#properties" },
          additionalModules: [panel.BpmnPropertiesPanelModule, panel.BpmnPropertiesProviderModule,
                              panel.CamundaPlatformPropertiesProviderModule,
                              window.designerTranslateModule || {}],
          moddleExtensions: { camunda: camunda },
          keyboard: { bind: true }  // bpmn-js binds to its own canvas (focused on click); bindTo is gone
        });
        window.designerModeler = modeler;  // for the browser tests and the console
        return modeler.importXML(document.getElementById("bpmn-source").value).then(function () {
          modeler.get("canvas").zoom("fit-viewport", "auto");
          modeler.on("commandStack.changed", function () { file.changed(); });
          wire(modeler);
          root.setAttribute("data-ready", "true");
        });
      })
      .catch(function (error) {
        root.setAttribute("data-ready", "error");
        var note = document.createElement("p");
        note.className = "flash flash-error";
        note.textContent = window.designerFormat(root.getAttribute("data-error-text"), { msg: error.message });
        root.parentNode.insertBefore(note, root);
      });

    function save(modeler) {
      return modeler.saveXML({ format: true }).then(function (result) { return file.save(result.xml); });
    }

    function wire(modeler) {
      document.getElementById("save-button").addEventListener("click", function () {
        save(modeler).catch(function () {});
      });
      document.getElementById("check-button").addEventListener("click", function () {
        save(modeler).then(function () {
          return file.post(file.form.getAttribute("data-validate-url"), {});
        }).then(function (response) { return response.json(); })
          .then(function (verdict) { show(modeler, verdict); })
          .catch(function () {});
      });
    }

    function showLint(modeler, verdict) {
      var registry = modeler.get("elementRegistry"), canvas = modeler.get("canvas");
      var box = document.getElementById("lint-box"), list = document.getElementById("lint-list");
      var unavailable = document.getElementById("lint-unavailable");
      list.innerHTML = "";
      unavailable.hidden = !verdict.lint_unavailable;
      unavailable.textContent = verdict.lint_unavailable || "";
      box.hidden = !(verdict.lint && verdict.lint.length);
      if (box.hidden) { return; }
      var summary = document.getElementById("lint-summary");
      summary.textContent = window.designerFormat(summary.getAttribute("data-text"), { n: verdict.lint.length });
      verdict.lint.forEach(function (finding) {
        var item = document.createElement("li");
        item.setAttribute("data-element", finding.element_id || "");
        item.setAttribute("data-rule", finding.rule);
        item.textContent = (finding.element_id ? "[" + finding.element_id + "] " : "") + finding.message + " (" + finding.rule + ")";
        list.appendChild(item);
        var element = finding.element_id && registry.get(finding.element_id);
        if (element && markers.indexOf(element.id) < 0) {
          canvas.addMarker(element.id, "has-advice");
          markers.push(element.id);
        }
        if (element) {
          item.classList.add("linked");
          item.addEventListener("click", function () { modeler.get("selection").select(element); });
        }
      });
    }

    function show(modeler, verdict) {
      var canvas = modeler.get("canvas"), overlays = modeler.get("overlays");
      var registry = modeler.get("elementRegistry");
      markers.forEach(function (id) { canvas.removeMarker(id, "has-problem"); canvas.removeMarker(id, "has-advice"); });
      overlays.remove({ type: "problem" });
      markers = [];
      showLint(modeler, verdict);
      window.designerFindings(verdict, function (problem) {
        var element = problem.element_id && registry.get(problem.element_id);
        if (!element) { return null; }
        markProblem(modeler, element, problem);
        return function () { modeler.get("selection").select(element); };
      });
    }

    function markProblem(modeler, element, problem) {
      var canvas = modeler.get("canvas");
      if (markers.indexOf(element.id) < 0) { markers.push(element.id); }
      if (canvas.hasMarker(element.id, "has-problem")) { return; }
      canvas.addMarker(element.id, "has-problem");
      var badge = document.createElement("div");
      badge.className = "problem-badge";
      badge.title = problem.message;
      badge.textContent = "!";
      badge.setAttribute("data-element", element.id);
      modeler.get("overlays").add(element.id, "problem", { position: { top: -10, left: -10 }, html: badge });
    }
  });
})();
