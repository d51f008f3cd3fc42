// Gradebook: cells and question rows change as students watch and answer (WebSocket pushed
// by learning.services after each commit). Without a socket the page still shows the truth
// as of its load, and says it is not live.
(function () {
  "use strict";

  var state = document.getElementById("live-state");
  if (!state || !window.WebSocket) return;

  function setState(name) {
    state.dataset.state = name;
    state.textContent = name === "live" ? state.dataset.live : state.dataset.offline;
  }
  function flash(node) {
    node.classList.remove("cell-flash");
    void node.offsetWidth;
    node.classList.add("cell-flash");
  }
  function updateCell(message) {
    var cell = document.querySelector(
      'td[data-student="' + message.student + '"][data-lesson="' + message.lesson + '"]'
    );
    if (!cell) return;
    var watched = cell.querySelector("[data-field=watched]");
    var score = cell.querySelector("[data-field=score]");
    if (message.completed) {
      watched.textContent = watched.dataset.completedText;
      watched.classList.add("cell-completed");
    } else {
      watched.textContent = watched.dataset.watchedText.replace("{percent}", message.watched_percent);
      watched.classList.remove("cell-completed");
    }
    score.textContent = message.score_percent === null ? "" :
      score.dataset.scoreText.replace("{score}", message.score_percent);
    flash(cell);
  }
  function updateQuestions(questions) {
    (questions || []).forEach(function (q) {
      var row = document.querySelector('tr[data-checkpoint="' + q.checkpoint + '"]');
      if (!row) return;
      row.querySelector("[data-field=right]").textContent = q.right + " / " + q.answered;
      row.querySelector("[data-field=wrong]").textContent =
        q.top_wrong ? q.top_wrong + " (" + q.top_wrong_count + ")" : "—";
      flash(row);
    });
  }

  function updateRecord(student, record) {
    var cell = document.querySelector('td[data-record="' + student + '"]');
    if (!cell || !record || !record.answers) return;
    var svg = cell.querySelector("svg");
    svg.querySelector("polyline").setAttribute("points", record.points);
    svg.setAttribute("aria-label", cell.dataset.labelText
      .replace("{right}", record.right).replace("{answers}", record.answers));
    svg.removeAttribute("hidden");
    cell.querySelector("[data-field=record]").textContent = record.right + "/" + record.answers;
  }

  var delay = 1000;
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + state.dataset.socket);
    socket.addEventListener("message", function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "ready") { setState("live"); delay = 1000; return; }
      if (message.type === "update") {
        updateCell(message);
        updateQuestions(message.questions);
        updateRecord(message.student, message.record);
        // Other parts of the page (the mastery heatmap) listen for the same updates.
        document.dispatchEvent(new CustomEvent("gradebook:update", { detail: message }));
      }
    });
    socket.addEventListener("close", function () {
      setState("offline");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }
  connect();
})();
