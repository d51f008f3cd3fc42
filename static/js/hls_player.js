// Plays a render's HLS playlist (video[data-hls-src]): natively where the browser can
// (Safari, iOS, Chromium 156), with hls.js (static/vendor/hls.js, from the npm lockfile)
// elsewhere, loaded only then (the script tag's data-hls-library). The MP4 <source> stays
// as the fallback: a render made before playlists, or a playlist whose segments have left
// the cache (404), plays the MP4. Pages that add a player later (the studio swaps the
// preview in when a render ends) call window.lecternAttachHls(container).
(function () {
  "use strict";

  var script = document.currentScript;
  var libraryUrl = script ? script.dataset.hlsLibrary : "";
  var libraryLoading = null;

  function useMp4(video) {
    video.dataset.player = "mp4";
  }

  function loadLibrary() {
    if (window.Hls) return Promise.resolve(window.Hls);
    if (!libraryUrl) return Promise.reject(new Error("no hls.js"));
    if (!libraryLoading) {
      libraryLoading = new Promise(function (resolve, reject) {
        var tag = document.createElement("script");
        tag.src = libraryUrl;
        tag.onload = function () { resolve(window.Hls); };
        tag.onerror = reject;
        document.head.appendChild(tag);
      });
    }
    return libraryLoading;
  }

  function attachLibrary(video, Hls, src) {
    if (!Hls || !Hls.isSupported()) return useMp4(video);
    var hls = new Hls({ enableWorker: true });
    video.dataset.player = "hls.js";
    hls.on(Hls.Events.ERROR, function (event, data) {
      if (!data.fatal) return;
      hls.destroy();
      video.removeAttribute("src");
      useMp4(video);
      video.load(); // back to the MP4 <source>
    });
    hls.loadSource(src);
    hls.attachMedia(video);
  }

  function attach(video) {
    if (video.dataset.player) return;
    var src = video.dataset.hlsSrc;
    if (!src) return useMp4(video);
    if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.dataset.player = "native-hls";
      video.src = src;
      return;
    }
    video.dataset.player = "loading";
    loadLibrary().then(
      function (Hls) { attachLibrary(video, Hls, src); },
      function () { useMp4(video); }
    );
  }

  function attachAll(root) {
    (root || document).querySelectorAll("video[data-hls-src]").forEach(attach);
  }

  window.lecternAttachHls = attachAll;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { attachAll(); });
  } else {
    attachAll();
  }
})();
