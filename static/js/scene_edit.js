// Scene editor: show only the fields of the chosen visual, estimate the scene's length as the
// teacher types (same constants as courses/estimates.py), and play the narration being typed.
(function () {
  "use strict";

  var form = document.getElementById("scene-form");
  if (!form) return;
  var kind = form.querySelector("[name=kind]");
  var narration = form.querySelector("[name=narration]");
  var language = form.querySelector("[name=language]");
  var output = document.getElementById("scene-estimate");
  var config = JSON.parse(document.getElementById("estimate-config").textContent);

  function showKindFields() {
    form.querySelectorAll("[data-kind-fields]").forEach(function (block) {
      block.hidden = block.dataset.kindFields.split(" ").indexOf(kind.value) < 0;
    });
  }

  // A rough sentence count: terminators followed by space or end (Chinese needs no space).
  function sentenceCount(text, lang) {
    var pattern = lang === "zh" ? /[。！？!?]+/g : /[.!?]+(?=\s|$)/g;
    var matches = text.match(pattern);
    return Math.max(matches ? matches.length : 0, 1);
  }

  function estimateSeconds(text, lang) {
    text = text.trim();
    if (!text) return config.minSceneS;
    var rate = config.charsPerSecond[lang] || config.charsPerSecond.en;
    var spoken = text.length / rate + config.sentenceGapS * (sentenceCount(text, lang) - 1);
    return Math.max(spoken + config.scenePaddingS, config.minSceneS);
  }

  function formatDuration(seconds) {
    var total = Math.round(seconds);
    var rest = total % 60;
    return Math.floor(total / 60) + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function updateEstimate() {
    output.textContent = formatDuration(estimateSeconds(narration.value, language.value));
  }

  kind.addEventListener("change", showKindFields);
  narration.addEventListener("input", updateEstimate);
  language.addEventListener("change", updateEstimate);
  showKindFields();
  updateEstimate();

  var button = document.getElementById("preview-button");
  var audio = document.getElementById("preview-audio");
  var problem = document.getElementById("preview-error");
  var label = button.textContent;
  button.hidden = false;
  button.addEventListener("click", function () {
    var body = new FormData();
    body.append("narration", narration.value);
    body.append("language", language.value);
    button.disabled = true;
    button.textContent = "…";
    problem.textContent = "";
    fetch(button.dataset.url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value },
    })
      .then(function (response) {
        if (response.ok) return response.blob();
        return response.json().then(function (data) { throw new Error(data.error); });
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
