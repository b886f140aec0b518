// Staff pages: warn before the idle timeout signs this session out, and offer to stay.
// Without JavaScript the site works the same; the session simply ends when idle.
(function () {
  "use strict";
  var box = document.getElementById("idle-warning");
  if (!box) { return; }
  var idle = parseInt(box.getAttribute("data-idle-seconds"), 10) * 1000;
  var warn = parseInt(box.getAttribute("data-warn-seconds"), 10) * 1000;
  var countdown = box.querySelector("[data-countdown]");
  var form = box.querySelector("form");
  var lastActive = Date.now();
  var timer = null;

  function words(ms) {
    var seconds = Math.max(0, Math.round(ms / 1000));
    if (seconds >= 60) {
      var minutes = Math.ceil(seconds / 60);
      return minutes + (minutes === 1 ? " minute" : " minutes");
    }
    return seconds + (seconds === 1 ? " second" : " seconds");
  }

  function tick() {
    var left = lastActive + idle - Date.now();
    if (left <= 0) {
      window.location.assign(box.getAttribute("data-signed-out-url"));
      return;
    }
    if (left <= warn) {
      countdown.textContent = words(left);
      if (box.hidden) {
        box.hidden = false;
        box.querySelector("button").focus();
      }
    }
    timer = window.setTimeout(tick, 1000);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: {"Accept": "application/json"},
      credentials: "same-origin"
    }).then(function (response) {
      if (!response.ok) { throw new Error("not signed in"); }
      lastActive = Date.now();
      box.hidden = true;
    }).catch(function () {
      window.location.assign(box.getAttribute("data-signed-out-url"));
    });
  });

  tick();
}());
