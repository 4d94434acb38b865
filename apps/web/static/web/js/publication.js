/* Import job page: follow a bulk publish/unpublish of the import's studies through the API while it runs. */
(function () {
  "use strict";
  var box = document.querySelector("[data-publication-url]");
  if (!box || box.dataset.running !== "true") { return; }
  var bar = box.querySelector("[data-progress]");
  function poll() {
    fetch(box.dataset.publicationUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (!job) { setTimeout(poll, 3000); return; }
        bar.value = job.progress.percent;
        bar.textContent = job.progress.percent + " %";
        box.querySelector("[data-done]").textContent = job.progress.done;
        if (job.status === "queued" || job.status === "running") { setTimeout(poll, 1000); }
        else { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 700);
})();
