// The heatmap: the process diagram (bpmn-js NavigatedViewer, served locally) with an overlay on
// each element where instances wait: how many, and a colour for how long (mean working days).
(function () {
  "use strict";
  function level(days) { return days >= 5 ? 3 : days >= 2 ? 2 : 1; }
  document.addEventListener("DOMContentLoaded", function () {
    var container = document.getElementById("heatmap");
    var source = document.getElementById("heatmap-data");
    if (!container || !source || !window.BpmnJS) { return; }
    var heat = JSON.parse(source.textContent);
    var daysText = container.getAttribute("data-days-text");
    var viewer = new window.BpmnJS({ container: container });
    viewer.importXML(heat.diagram).then(function () {
      var canvas = viewer.get("canvas");
      var overlays = viewer.get("overlays");
      var registry = viewer.get("elementRegistry");
      canvas.zoom("fit-viewport", "auto");
      var shown = 0;
      heat.elements.forEach(function (cell) {
        if (!cell.waiting || !registry.get(cell.element)) { return; }
        var badge = document.createElement("div");
        var heatLevel = cell.failed ? 3 : level(cell.mean_wait_days || 0);  // a failure is always urgent
        badge.className = "heat-badge heat-" + heatLevel;
        badge.setAttribute("data-element", cell.element);
        badge.title = cell.name;
        badge.textContent = cell.waiting + " · " + daysText.replace("%(n)s", cell.mean_wait_days);
        overlays.add(cell.element, { position: { top: -14, right: 12 }, html: badge });
        canvas.addMarker(cell.element, "marker-heat-" + heatLevel);
        shown += 1;
      });
      container.setAttribute("data-ready", "true");
      container.setAttribute("data-overlays", String(shown));
    }).catch(function (error) {
      container.setAttribute("data-ready", "error");
      var note = document.createElement("p");
      note.className = "flash flash-error";
      note.textContent = container.getAttribute("data-error-text") + " (" + error.message + ")";
      container.replaceWith(note);
    });
  });
})();
