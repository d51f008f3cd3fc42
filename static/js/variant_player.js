// A student's own variant (learning/variant_views.py): ask for it, wait while a worker
// prepares what is missing (only never-rendered scenes and transitions), then play its HLS
// playlist through hls_player.js (native HLS, or hls.js where needed).
(function () {
  "use strict";

  function start() {
    var wait = document.getElementById("variant-wait");
    if (!wait) return;
    var delayMs = 500;

    function poll() {
      fetch(wait.dataset.statusUrl, { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          if (data.status === "ready" && data.playlist) {
            var video = document.getElementById("variant-video");
            video.dataset.hlsSrc = data.playlist;
            if (data.captions) {
              var track = document.createElement("track");
              track.kind = "captions";
              track.src = data.captions;
              track.srclang = video.dataset.language || "";
              track.label = video.dataset.captionsLabel || "Captions";
              // The viewer's captions preference, as on the lesson player.
              track.default = "captionsOn" in video.dataset;
              video.appendChild(track);
            }
            document.getElementById("variant-stage").hidden = false;
            wait.hidden = true;
            if (window.lecternAttachHls) window.lecternAttachHls(document);
          } else if (data.status === "failed" || data.status === "refused") {
            wait.textContent = data.error || wait.dataset.failed;
          } else {
            delayMs = Math.min(delayMs * 1.5, 4000);
            window.setTimeout(poll, delayMs);
          }
        })
        .catch(function () { window.setTimeout(poll, 4000); });
    }
    poll();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
