// Plays a render's HLS playlist (video[data-hls-src]): natively where the browser can
// (Safari, iOS), with hls.js (static/vendor/hls.js, from the npm lockfile) elsewhere. The
// MP4 <source> stays as the fallback: a render made before playlists, or a playlist whose
// segments have left the cache (404), plays the MP4.
(function () {
  "use strict";

  function useMp4(video) {
    video.dataset.player = "mp4";
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
    var Hls = window.Hls;
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

  function attachAll(root) {
    (root || document).querySelectorAll("video[data-hls-src]").forEach(attach);
  }

  window.lecternAttachHls = attachAll;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { attachAll(); });
  } else {
    attachAll();
  }
  // The studio swaps the preview in when a render ends: attach to videos added later.
  new MutationObserver(function () { attachAll(); }).observe(document.documentElement, {
    childList: true,
    subtree: true,
  });
})();
