// Lesson player: what was really played (intervals, not the playhead), questions when their
// scene ends, the interactive transcript and chapters, resume, caption size. Controls are
// media-chrome's (keyboard and screen-reader accessible); events go to the telemetry endpoint
// in batches and wait in localStorage while the network is away.
(function () {
  "use strict";

  var configNode = document.getElementById("player-config");
  var video = document.getElementById("lesson-video");
  if (!configNode || !video) return;
  var config = JSON.parse(configNode.textContent);
  var strings = JSON.parse(document.getElementById("player-strings").textContent);
  var controller = document.getElementById("player");
  var statusLine = document.getElementById("player-status");
  var csrfToken = document.querySelector("#player-csrf [name=csrfmiddlewaretoken]").value;

  // ---- The source: hls_player.js plays the render's HLS playlist (data-hls-src) natively or
  // with hls.js, else the MP4 <source> (learning.selectors.video_playlist_url, video_source_url).

  function say(text) { statusLine.textContent = text; }
  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var m = Math.floor(s / 60);
    return m + ":" + String(s % 60).padStart(2, "0");
  }
  document.querySelectorAll("[data-clock]").forEach(function (node) {
    node.textContent = clock(parseFloat(node.dataset.clock));
  });

  // ---- Telemetry: a queue kept in localStorage, sent in batches, ids make resends harmless.
  // One queue per student: a shared school computer must never send one child's events as another's.
  var QUEUE_KEY = "lectern-learning-queue-" + config.student;
  var queue = [];
  try { queue = JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]"); } catch (e) { queue = []; }
  function saveQueue() {
    try { localStorage.setItem(QUEUE_KEY, JSON.stringify(queue)); } catch (e) { /* full */ }
  }
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }
  function enqueue(kind, payload) {
    var event = {
      id: newId(), kind: kind, student: config.student, lesson: config.lesson, version: config.version,
      occurred_at: new Date().toISOString(), payload: payload
    };
    queue.push(event);
    saveQueue();
    return event.id;
  }
  var completedShown = false;
  function handleResponse(body) {
    var progress = body.progress && body.progress[String(config.lesson)];
    if (progress && progress.completed && !completedShown) {
      completedShown = true;
      say(strings.completed);
      controller.dataset.completed = "true";
    }
    return body;
  }
  var sending = Promise.resolve(null);
  function sendBatch(keepalive) {
    if (!queue.length) return Promise.resolve({ answers: {} });
    var batch = queue.slice(0, 100);
    return fetch(config.events_url, {
      method: "POST",
      credentials: "same-origin",
      keepalive: !!keepalive,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify({ events: batch })
    }).then(function (response) {
      var sent = {};
      batch.forEach(function (event) { sent[event.id] = true; });
      if (response.ok || (response.status >= 400 && response.status < 500)) {
        // Recorded, or refused for good (a lesson no longer visible): either way not resent.
        queue = queue.filter(function (event) { return !sent[event.id]; });
        saveQueue();
      }
      if (!response.ok) throw new Error("telemetry " + response.status);
      return response.json().then(handleResponse);
    });
  }
  function flush() {
    sending = sending.catch(function () { return null; }).then(function () { return sendBatch(false); });
    return sending;
  }
  setInterval(function () { if (queue.length) flush().catch(function () {}); }, 5000);
  window.addEventListener("online", function () { flush().catch(function () {}); });
  window.addEventListener("pagehide", function () {
    reportWatched();
    if (queue.length) sendBatch(true).catch(function () {});
  });
  if (queue.length) flush().catch(function () {});

  // ---- Watched intervals: the media element's own record of what was played (video.played),
  // not a playhead followed through play/playing/pause events, whose order and timing vary
  // with load and speed (a stretch between them was lost at 16x). What is new since the last
  // report is sent on a pause, seek, question or end, and every 10 s of playing.
  var reported = []; // [[start, end], ...] sorted, already queued
  function unreported(start, end) {
    var pieces = [];
    for (var i = 0; i < reported.length && start < end; i++) {
      var r = reported[i];
      if (r[1] <= start) continue;
      if (r[0] >= end) break;
      if (r[0] > start) pieces.push([start, r[0]]);
      start = Math.max(start, r[1]);
    }
    if (start < end) pieces.push([start, end]);
    return pieces;
  }
  function markReported(start, end) {
    var merged = [];
    reported.concat([[start, end]]).sort(function (x, y) { return x[0] - y[0]; }).forEach(function (r) {
      var last = merged[merged.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]); else merged.push([r[0], r[1]]);
    });
    reported = merged;
  }
  function reportWatched(minimum_s) {
    var played = video.played, pieces = [], total = 0;
    for (var i = 0; i < played.length; i++) {
      unreported(played.start(i), played.end(i)).forEach(function (piece) {
        if (piece[1] - piece[0] >= 0.05) { pieces.push(piece); total += piece[1] - piece[0]; }
      });
    }
    if (!pieces.length || total < (minimum_s || 0)) return;
    pieces.forEach(function (piece) {
      enqueue("watched", {
        start_s: +piece[0].toFixed(3), end_s: +piece[1].toFixed(3),
        position_s: +video.currentTime.toFixed(3)
      });
      markReported(piece[0], piece[1]);
    });
  }
  video.addEventListener("pause", function () { reportWatched(); });
  video.addEventListener("ended", function () {
    reportWatched();
    flush().catch(function () {}); // completion shows at the end, not at the next batch
  });

  // ---- Questions ----
  var questions = config.questions.slice().sort(function (a, b) { return a.at_s - b.at_s; });
  var panel = document.getElementById("question-panel");
  var form = document.getElementById("question-form");
  var choicesBox = document.getElementById("question-choices");
  var feedback = document.getElementById("question-feedback");
  var continueButton = document.getElementById("question-continue");
  var errorLine = document.getElementById("question-error");
  var current = null;

  function firstUnanswered() {
    for (var i = 0; i < questions.length; i++) if (!questions[i].answered) return questions[i];
    return null;
  }
  function ask(question) {
    if (current === question) return;
    reportWatched();
    current = question;
    video.pause();
    // timeupdate comes 4 times a second (less often at high speed): go back to the scene's end.
    if (question.at_s < video.duration - 0.1 && Math.abs(video.currentTime - question.at_s) > 0.3) {
      video.currentTime = question.at_s;
    }
    document.getElementById("question-prompt").textContent = question.prompt;
    choicesBox.textContent = "";
    question.choices.forEach(function (choice, index) {
      var id = "choice-" + choice.id;
      var row = document.createElement("div");
      row.className = "choice";
      var input = document.createElement("input");
      input.type = "radio"; input.name = "choice"; input.value = choice.id; input.id = id;
      if (index === 0) input.required = false;
      var label = document.createElement("label");
      label.htmlFor = id; label.textContent = choice.text;
      row.appendChild(input); row.appendChild(label);
      choicesBox.appendChild(row);
    });
    form.hidden = false;
    feedback.textContent = "";
    feedback.className = "question-feedback";
    continueButton.hidden = true;
    errorLine.hidden = true;
    panel.hidden = false;
    document.getElementById("question-heading").focus();
  }
  function showFeedback(result) {
    feedback.textContent = "";
    var verdict = document.createElement("p");
    verdict.className = "verdict";
    verdict.dataset.testid = "verdict";
    if (result.correct) {
      verdict.textContent = strings.correct;
    } else {
      verdict.textContent = strings.wrong.replace("{answer}", result.correct_text || "");
    }
    feedback.className = "question-feedback " + (result.correct ? "is-correct" : "is-wrong");
    feedback.appendChild(verdict);
    if (!result.counted) {
      var note = document.createElement("p"); note.textContent = strings.already; feedback.appendChild(note);
    }
    if (result.explanation) {
      var why = document.createElement("p");
      why.className = "explanation"; why.dataset.testid = "explanation";
      why.textContent = result.explanation;
      feedback.appendChild(why);
    }
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var chosen = form.querySelector("input[name=choice]:checked");
    if (!chosen) { errorLine.hidden = false; chosen = form.querySelector("input[name=choice]"); chosen.focus(); return; }
    var question = current;
    var id = enqueue("answered", { checkpoint: question.id, choice: +chosen.value, attempt: config.attempt });
    question.answered = true;
    form.hidden = true;
    flush().then(function (body) {
      var result = body && body.answers && body.answers[id];
      if (result) showFeedback(result); else feedback.textContent = strings.offline;
    }).catch(function () {
      feedback.textContent = strings.offline;
    }).then(function () {
      continueButton.hidden = false;
      feedback.focus();
    });
  });
  continueButton.addEventListener("click", function () {
    panel.hidden = true;
    current = null;
    var play = controller.querySelector("media-play-button");
    if (play) play.focus();
    if (video.currentTime < video.duration - 0.1) video.play();
  });
  video.addEventListener("play", function () { if (current) video.pause(); });

  var previousTime = null;
  function crossed(from, to) {
    if (from === null) return null;
    for (var i = 0; i < questions.length; i++) {
      var q = questions[i];
      if (!q.answered && from < q.at_s - 0.05 && to >= q.at_s - 0.05) return q;
    }
    return null;
  }
  video.addEventListener("timeupdate", function () {
    var t = video.currentTime;
    if (!video.paused) reportWatched(10);
    // At high speed the last timeupdate may come with the end, already paused.
    var due = video.paused && !video.ended ? null : crossed(previousTime, t);
    previousTime = t;
    highlightCue(t);
    if (due) ask(due);
  });
  video.addEventListener("ended", function () {
    if (current) return;
    var due = crossed(previousTime, Infinity);
    questions.forEach(function (q) {
      if (!due && !q.answered && q.at_s >= video.duration - 1) due = q;
    });
    previousTime = video.duration;
    if (due) ask(due);
  });

  // Seeking: intervals stop; with "prevent skipping" no jump past an unanswered question.
  var resuming = false;
  video.addEventListener("seeking", function () {
    reportWatched();
    var limit = firstUnanswered();
    if (config.prevent_skipping && !resuming && limit && video.currentTime > limit.at_s + 0.25) {
      video.currentTime = Math.max(0, limit.at_s - 0.2);
      say(strings.skipping);
    }
    previousTime = null;
  });
  video.addEventListener("seeked", function () {
    previousTime = video.currentTime;
    resuming = false;
  });

  // ---- Resume where the student left off.
  function resume() {
    if (config.resume_s > 1) {
      resuming = true;
      video.currentTime = config.resume_s;
      say(strings.resumed.replace("{time}", clock(config.resume_s)));
    }
  }
  if (video.readyState >= 1) resume(); else video.addEventListener("loadedmetadata", resume, { once: true });

  // ---- Transcript and chapters: select to seek; the current sentence is highlighted.
  var cues = Array.prototype.slice.call(document.querySelectorAll("#transcript .cue"));
  var transcript = document.getElementById("transcript");
  var currentCue = null;
  function highlightCue(t) {
    var found = null;
    for (var i = 0; i < cues.length; i++) {
      var start = parseFloat(cues[i].dataset.seek);
      var end = parseFloat(cues[i].dataset.end);
      if (t >= start && t < end) { found = cues[i]; break; }
    }
    if (found === currentCue) return;
    if (currentCue) { currentCue.classList.remove("is-current"); currentCue.removeAttribute("aria-current"); }
    currentCue = found;
    if (found) {
      found.classList.add("is-current");
      found.setAttribute("aria-current", "true");
      var top = found.offsetTop - transcript.offsetTop;
      if (top < transcript.scrollTop || top > transcript.scrollTop + transcript.clientHeight - found.offsetHeight) {
        transcript.scrollTop = Math.max(0, top - transcript.clientHeight / 3);
      }
    }
  }
  document.querySelectorAll("[data-seek]").forEach(function (button) {
    button.addEventListener("click", function () {
      video.currentTime = parseFloat(button.dataset.seek);
      if (video.paused && !current) video.play();
    });
  });

  // ---- Captions sit above the control bar (it overlays the bottom of the picture).
  var captionTrack = video.querySelector("track[kind=captions]");
  function liftCues() {
    var cues = captionTrack.track.cues || [];
    for (var i = 0; i < cues.length; i++) { cues[i].snapToLines = true; cues[i].line = -3; }
  }
  if (captionTrack) {
    captionTrack.addEventListener("load", liftCues);
    if (captionTrack.readyState === 2) liftCues();
  }

  // ---- Caption size: the student's profile preference (rendered into data-caption-size and the
  // selector); a change here applies at once and is saved to the profile, so it follows the
  // student to other devices. A failed save only costs the preference, never the playback.
  var sizeSelect = document.getElementById("caption-size");
  controller.dataset.captionSize = sizeSelect.value;
  sizeSelect.addEventListener("change", function () {
    controller.dataset.captionSize = sizeSelect.value;
    var body = new URLSearchParams();
    body.set("captions_size", sizeSelect.value);
    fetch(sizeSelect.dataset.saveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken },
      body: body
    }).catch(function () { /* offline: the size still applies on this page */ });
  });
})();
