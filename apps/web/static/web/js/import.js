/* Import job page: follow the job through the imports API while it runs, then show the report. */
(function () {
  "use strict";
  var box = document.querySelector("[data-job-url]");
  if (!box || box.dataset.running !== "true") { return; }
  var bar = box.querySelector("[data-progress]");
  function poll() {
    fetch(box.dataset.jobUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (!job) { setTimeout(poll, 3000); return; }
        var p = job.progress || {};
        if (p.percent !== null && p.percent !== undefined) { bar.value = p.percent; bar.textContent = p.percent + " %"; }
        box.querySelector("[data-done]").textContent = p.done;
        box.querySelector("[data-total]").textContent = p.total === null ? "?" : p.total;
        Object.keys(job.counts || {}).forEach(function (k) {
          var el = document.querySelector('[data-count="' + k + '"]');
          if (el) { el.textContent = job.counts[k]; }
        });
        if (job.status === "queued" || job.status === "running") { setTimeout(poll, 1000); }
        else { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 700);
})();
