// "Copy link" buttons: each names the read-only field it copies in data-copy-target.
// The buttons start hidden, so without JavaScript the page shows only the selectable links.
(function () {
  "use strict";

  function announce(button, message) {
    var section = button.closest("section");
    var status = section ? section.querySelector(".copy-status") : null;
    if (status) {
      status.textContent = message;
    }
  }

  function copyFrom(field) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(field.value);
    }
    // Older browsers and plain-http pages: select the text and use the legacy command.
    field.focus();
    field.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy-target"));
    if (!field) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      copyFrom(field).then(
        function () {
          announce(button, "Link copied.");
        },
        function () {
          field.focus();
          field.select();
          announce(button, "Could not copy: the link is selected, press Ctrl+C (or Cmd+C) to copy it.");
        }
      );
    });
  });
})();
