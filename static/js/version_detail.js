// Lesson version page: live render progress over a WebSocket, with polling as a fallback,
// cancel without a reload, the preview swapped in when the render ends, a hint when no render
// worker picks the job up, and delete confirmation.
(function () {
  "use strict";

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  var box = document.getElementById("render-progress");
  if (!box) return;
  var strings = JSON.parse(document.getElementById("render-strings").textContent);
  var field = function (name) { return box.querySelector("[data-field=" + name + "]"); };
  var bar = box.querySelector("[role=progressbar]");
  var fill = box.querySelector(".progress-fill");
  // The width is set here, not in a style attribute, which the Content-Security-Policy forbids.
  fill.style.width = (Number(fill.dataset.percent) || 0) + "%";
  var cancelForm = document.getElementById("cancel-form");
  var retryForm = document.getElementById("retry-form");
  var finished = false;
  var pollTimer = null;
  var waitTimer = null;
  var socket = null;

  // "about 3 min 20 s left" in the page's language: the phrases come from the template,
  // and the seconds are rounded to 5 past a minute (an estimate, not a stopwatch).
  function timeLeft(seconds) {
    var phrases = field("eta").dataset;
    var total = Math.max(1, Math.round(seconds));
    if (total >= 60) total = Math.round(total / 5) * 5;
    var minutes = Math.floor(total / 60);
    var rest = total % 60;
    var phrase = !minutes ? phrases.secondsLeft : rest ? phrases.minutesLeft : phrases.wholeMinutesLeft;
    return phrase.replace("{minutes}", minutes).replace("{seconds}", rest);
  }

  function show(job) {
    var percent = Math.max(0, Math.min(100, job.percent || 0));
    box.dataset.status = job.status;
    fill.style.width = percent + "%";
    bar.setAttribute("aria-valuenow", String(Math.round(percent)));
    field("percent").textContent = Math.round(percent) + "%";
    var status = field("status");
    status.textContent = strings.statuses[job.status] || job.status_label;
    status.className = "status status-" + job.status;
    field("stage").textContent = strings.stages[job.stage] || job.stage;
    field("scene").textContent = job.scene_count
      ? strings.sceneOf.replace("{index}", job.scene_index).replace("{count}", job.scene_count)
      : "";
    field("eta").textContent = job.eta_s && !job.finished ? timeLeft(job.eta_s) : "";
    var error = field("error");
    error.textContent = job.error || "";
    error.hidden = !job.error;
    document.querySelectorAll("[data-history-job='" + job.id + "']").forEach(function (badge) {
      badge.textContent = status.textContent;
      badge.className = status.className;
    });
    box.querySelectorAll("[data-waiting]").forEach(function (hint) {
      hint.hidden = hint.dataset.waiting !== job.waiting;
    });
    scheduleWaitCheck(job);
    var renderButton = document.getElementById("render-button");
    if (renderButton) renderButton.disabled = !job.finished;
    cancelForm.hidden = job.finished;
    retryForm.hidden = !(job.status === "failed" || job.status === "cancelled");
    if (job.finished && !finished) {
      finished = true;
      stopPolling();
      if (socket) socket.close();
      if (job.status === "succeeded") loadPreview();
    }
  }

  // A queued job sends no progress, so nothing would tell the page that it has waited
  // long enough for the "no render worker" hint: ask once it has, then now and then.
  function scheduleWaitCheck(job) {
    if (waitTimer) window.clearTimeout(waitTimer);
    waitTimer = null;
    if (job.status !== "queued" || pollTimer) return;
    var delayS = job.waiting_hint_in_s > 0 ? job.waiting_hint_in_s : 15;
    waitTimer = window.setTimeout(poll, delayS * 1000);
  }

  function loadPreview() {
    fetch(box.dataset.previewUrl, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        if (!html) return;
        var preview = document.getElementById("preview");
        preview.innerHTML = html;
        // Scripts in swapped-in HTML do not run: start its player here.
        if (window.lecternAttachHls) window.lecternAttachHls(preview);
        var submit = document.getElementById("submit-form");
        if (submit) submit.hidden = false;
      });
  }

  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(show)
      .catch(function () { /* the next poll tries again */ });
  }

  function startPolling() {
    if (pollTimer || finished) return;
    box.setAttribute("data-polling", "true");
    pollTimer = window.setInterval(poll, 2000);
    poll();
  }

  function stopPolling() {
    if (pollTimer) window.clearInterval(pollTimer);
    pollTimer = null;
  }

  function connect() {
    if (!("WebSocket" in window)) { startPolling(); return; }
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + box.dataset.wsPath);
    socket.addEventListener("message", function (event) { show(JSON.parse(event.data)); });
    socket.addEventListener("close", function () { if (!finished) startPolling(); });
  }

  cancelForm.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!window.confirm(strings.confirmCancel)) return;
    fetch(box.dataset.cancelUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(cancelForm), Accept: "application/json" },
    }).then(function (response) { return response.json(); }).then(show);
  });

  if (box.dataset.status === "queued" || box.dataset.status === "running") {
    connect();
  } else {
    finished = true;
  }
})();

// The Render form's "Preview voice": one sentence of the lesson in the voice and rate chosen
// (not yet saved), fetched so that a refusal can be shown as text rather than a dead player.
(function () {
  "use strict";

  var button = document.getElementById("voice-preview-button");
  var form = document.getElementById("render-form");
  if (!button || !form) return;
  var voice = form.querySelector("[name=voice]");
  var rate = form.querySelector("[name=rate]");
  var audio = document.getElementById("voice-preview-audio");
  var problem = document.getElementById("voice-preview-error");
  var label = button.textContent;
  button.hidden = false;
  button.addEventListener("click", function () {
    var query = new URLSearchParams({ voice: voice.value, rate: rate.value });
    button.disabled = true;
    button.textContent = "…";
    problem.textContent = "";
    fetch(button.dataset.url + "?" + query.toString(), { credentials: "same-origin" })
      .then(function (response) {
        if (response.ok) return response.blob();
        return response.json()
          .catch(function () { return {}; })
          .then(function (data) { throw new Error(data.error || response.statusText); });
      })
      .then(function (blob) {
        if (audio.src) URL.revokeObjectURL(audio.src);
        audio.src = URL.createObjectURL(blob);
        audio.hidden = false;
        return audio.play();
      })
      .catch(function (error) { problem.textContent = error.message; })
      .finally(function () {
        button.disabled = false;
        button.textContent = label;
      });
  });
})();
