// A student's own variant (learning/variant_views.py): ask for it, wait while a worker
// prepares what is missing (only never-rendered scenes and transitions), then play its HLS
// playlist through hls_player.js (native HLS, or hls.js where needed).
(function () {
  "use strict";

  function addCaptions(video, url) {
    if (video.querySelector("track")) return;
    var track = document.createElement("track");
    track.kind = "captions";
    track.src = url;
    track.srclang = video.dataset.language || "";
    track.label = video.dataset.captionsLabel || "Captions";
    // The viewer's captions preference, as on the lesson player.
    track.default = "captionsOn" in video.dataset;
    video.appendChild(track);
    // Added after the media loaded, a default track is not picked by itself.
    if (track.default) track.track.mode = "showing";
  }

  // The captions are asked for once the first frame is there: sent beside the playlist,
  // their request shared the server with it and delayed the first frame by about 0.1 s
  // (bench/first_frame.py). A video that never loads gets them after 3 s.
  function addCaptionsSoon(video, url) {
    var add = function () { addCaptions(video, url); };
    if (video.readyState >= 2) return add();
    video.addEventListener("loadeddata", add, { once: true });
    window.setTimeout(add, 3000);
  }

  function start() {
    var wait = document.getElementById("variant-wait");
    if (!wait) return;
    // A new variant is ready in about a second (only its new crossfades are encoded), so
    // ask again soon, then less often: now, after 200 ms, each wait 1.2x the last, at most
    // 4 s. Waits of 750 ms then 1125 ms left a ready variant unseen for up to a second
    // (bench/first_frame.py).
    var delayMs = 200;
    var done = false;
    var socket = null;

    // An answer of status.json, polled or pushed: play, or say why not; true: keep waiting.
    function handle(data) {
      if (done) return false;
      if (data.status === "ready" && data.playlist) {
        done = true;
        closeSocket();
        var video = document.getElementById("variant-video");
        video.dataset.hlsSrc = data.playlist;
        document.getElementById("variant-stage").hidden = false;
        wait.hidden = true;
        if (window.lecternAttachHls) window.lecternAttachHls(document);
        if (data.captions) addCaptionsSoon(video, data.captions);
      } else if (data.status === "failed" || data.status === "refused") {
        done = true;
        closeSocket();
        wait.textContent = data.error || wait.dataset.failed;
      } else {
        return true;
      }
      return false;
    }

    function socketOpen() {
      return socket !== null && socket.readyState === WebSocket.OPEN;
    }

    function closeSocket() {
      if (socket !== null) socket.close();
      socket = null;
    }

    // The variant's socket (learning/consumers.py) says "ready" the moment the worker marks
    // it so; a poll noticed it 0.2-0.4 s later under load (bench/first_frame.py).
    function openSocket() {
      if (!wait.dataset.socket || !window.WebSocket) return;
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      try {
        socket = new WebSocket(scheme + location.host + wait.dataset.socket);
      } catch (error) {
        socket = null;  // polling alone, as before
        return;
      }
      socket.addEventListener("message", function (event) {
        var message = JSON.parse(event.data);
        if (message.status) handle(message.status);
      });
      socket.addEventListener("close", function () { socket = null; });
    }

    function poll() {
      if (done) return;
      fetch(wait.dataset.statusUrl, { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          if (!handle(data)) return;
          // Polls stay the fallback (a push may be lost), less often while the socket is open.
          window.setTimeout(poll, socketOpen() ? Math.max(delayMs, 1000) : delayMs);
          delayMs = Math.min(delayMs * 1.2, 4000);
        })
        .catch(function () { if (!done) window.setTimeout(poll, 4000); });
    }
    openSocket();
    poll();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
