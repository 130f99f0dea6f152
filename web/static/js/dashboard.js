// The dashboard's charts (chart.js, served from node_modules by /assets) from the figures the
// page carries as JSON; the tables beside them hold the same numbers for reading and printing.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var holder = document.getElementById("dashboard");
    var source = document.getElementById("dashboard-data");
    if (!holder || !source || !window.Chart) { return; }
    var figures = JSON.parse(source.textContent);
    var labels = JSON.parse(holder.getAttribute("data-labels"));
    var pick = function (text) {
      if (!text || text.indexOf("·") < 0) { return text || ""; }
      var parts = text.split("·");
      return (document.documentElement.lang.indexOf("zh") === 0 ? parts[0] : parts[parts.length - 1]).trim();
    };
    var charts = [];
    var stages = figures.instances_per_stage.by_element;
    charts.push(new window.Chart(document.getElementById("chart-stages"), {
      type: "bar",
      data: { labels: stages.map(function (s) { return pick(s.process_name) + " / " + (s.element ? pick(s.element_name) : labels.timer); }),
              datasets: [{ label: labels.instances, data: stages.map(function (s) { return s.instances; }), backgroundColor: "#1f5fa8" }] },
      options: { indexAxis: "y", maintainAspectRatio: false, plugins: { legend: { display: false } },
                 scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }
    }));
    var weeks = figures.throughput;
    charts.push(new window.Chart(document.getElementById("chart-throughput"), {
      type: "line",
      data: { labels: weeks.map(function (w) { return w.week; }),
              datasets: [
                { label: labels.started, data: weeks.map(function (w) { return w.started; }), borderColor: "#1f5fa8" },
                { label: labels.completed, data: weeks.map(function (w) { return w.completed; }), borderColor: "#237a3b" },
                { label: labels.tasks_closed, data: weeks.map(function (w) { return w.tasks_closed; }), borderColor: "#a86400" }] },
      options: { maintainAspectRatio: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    }));
    var cycles = figures.cycle_times;
    charts.push(new window.Chart(document.getElementById("chart-cycle"), {
      type: "bar",
      data: { labels: cycles.map(function (c) { return pick(c.element_name); }),
              datasets: [
                { label: labels.median, data: cycles.map(function (c) { return c.median_days; }), backgroundColor: "#1f5fa8" },
                { label: labels.p90, data: cycles.map(function (c) { return c.p90_days; }), backgroundColor: "#a86400" }] },
      options: { maintainAspectRatio: false, scales: { y: { beginAtZero: true } } }
    }));
    holder.setAttribute("data-charts", String(charts.length));
  });
})();
