// The instance diagram: bpmn-js NavigatedViewer (served from node_modules by /assets), with
// completed, current, overdue and failed elements marked from the server's data-markers.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var container = document.getElementById("diagram");
    if (!container || !window.BpmnJS) { return; }
    var markers = JSON.parse(container.getAttribute("data-markers") || "{}");
    var viewer = new window.BpmnJS({ container: container });
    fetch(container.getAttribute("data-diagram-url"), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        canvas.zoom("fit-viewport", "auto");
        ["completed", "current", "overdue", "failed"].forEach(function (kind) {
          (markers[kind] || []).forEach(function (id) {
            if (registry.get(id)) { canvas.addMarker(id, "marker-" + kind); }
          });
        });
        container.setAttribute("data-ready", "true");
      })
      .catch(function (error) {
        container.setAttribute("data-ready", "error");
        var note = document.createElement("p");
        note.className = "flash flash-error";
        note.textContent = container.getAttribute("data-error-text") + " (" + error.message + ")";
        container.replaceWith(note);
      });
  });
})();
