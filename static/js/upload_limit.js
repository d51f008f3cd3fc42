// File inputs with data-max-bytes: a file over the site's upload limit is refused as soon
// as it is picked, with the server's own message, instead of after a long upload.
(function () {
  "use strict";

  document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input, index) {
    var message = document.createElement("p");
    message.id = "upload-too-large-" + index;
    message.className = "upload-too-large";
    message.setAttribute("role", "alert");
    message.hidden = true;
    input.insertAdjacentElement("afterend", message);
    var describedBy = input.getAttribute("aria-describedby");
    input.setAttribute("aria-describedby", (describedBy ? describedBy + " " : "") + message.id);

    input.addEventListener("change", function () {
      var limit = Number(input.dataset.maxBytes);
      var tooLarge = Array.prototype.filter.call(input.files || [], function (file) {
        return file.size > limit;
      })[0];
      message.hidden = !tooLarge;
      message.textContent = tooLarge ? input.dataset.tooLarge.replace("{name}", tooLarge.name) : "";
      if (tooLarge) input.value = "";
    });
  });
})();
