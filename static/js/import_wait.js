// The import waiting page: asks the status URL every second and a half, shows the
// worker's progress, and opens the review page when the file is read (or shows the error).
(function () {
  "use strict";

  var panel = document.getElementById("import-wait");
  if (!panel || panel.dataset.status !== "parsing") return;
  var progress = document.getElementById("import-progress");
  var bar = document.getElementById("import-progress-bar");
  var errorBox = document.getElementById("import-error");

  function show(payload) {
    if (payload.status === "ready") {
      window.location.assign(payload.review_url);
      return true;
    }
    if (payload.status === "failed") {
      progress.hidden = true;
      if (bar) bar.hidden = true;
      document.getElementById("import-error-text").textContent = payload.error;
      errorBox.hidden = false;
      return true;
    }
    progress.textContent = payload.progress;
    if (bar && payload.step_count) {
      bar.max = payload.step_count;
      bar.value = payload.step;
    }
    return false;
  }

  function poll() {
    fetch(panel.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (payload) {
        if (!show(payload)) window.setTimeout(poll, 1500);
      })
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  }

  window.setTimeout(poll, 1000);
})();
