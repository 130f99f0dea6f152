// Bulk interventions after the preview was confirmed: the previewed ids are sent in chunks, so
// the progress bar moves as instances are done and each failure is listed as it happens. Each
// instance is its own transaction on the server; a chunk that fails as a whole stops the run.
(function () {
  "use strict";
  function format(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "run-form" || event.defaultPrevented || !window.fetch) { return; }
    event.preventDefault();
    var ids = form.elements.id_list.value.split(",").filter(Boolean);
    var size = parseInt(form.getAttribute("data-chunk"), 10) || 20;
    var bar = document.getElementById("bulk-progress");
    var text = document.getElementById("progress-text");
    var result = document.getElementById("progress-result");
    var failures = document.getElementById("progress-failures");
    var button = document.getElementById("run-button");
    document.getElementById("progress-box").hidden = false;
    button.disabled = true;
    var done = 0, ok = 0, failed = 0;
    function next(start) {
      if (start >= ids.length) {
        result.textContent = format(form.getAttribute("data-done-text"), { ok: ok, failed: failed });
        form.setAttribute("data-finished", "true");
        return;
      }
      var body = new FormData(form);
      body.set("id_list", ids.slice(start, start + size).join(","));
      fetch(form.getAttribute("action"), { method: "POST", body: body, credentials: "same-origin",
                           headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (report) {
          report.outcomes.forEach(function (outcome) {
            done += 1;
            if (outcome.ok) { ok += 1; return; }
            failed += 1;
            var item = document.createElement("li");
            item.textContent = "#" + outcome.instance_id + ": " + outcome.message;
            failures.appendChild(item);
          });
          bar.value = done;
          text.textContent = done + " / " + ids.length;
          next(start + size);
        })
        .catch(function (error) {
          result.textContent = format(form.getAttribute("data-failed-text"), { message: error.message });
          form.setAttribute("data-finished", "error");
        });
    }
    next(0);
  });
})();
