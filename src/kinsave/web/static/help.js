// Help requests: start one from an offer, help a relative's, pass its link on. Helpers: app.js.
"use strict";

(function () {
  var ks = window.kinsave;

  function setupHelp() {
    var starts = document.querySelectorAll(".start-help");
    Array.prototype.forEach.call(starts, function (button) {
      button.addEventListener("click", function () {
        var status = document.getElementById(button.getAttribute("aria-describedby"));
        var body = { offer_id: button.dataset.offer };
        ks.tap(button, "/v1/help-requests", body, { refusal: status }).then(function (result) {
          if (result.ok) window.location.assign("/app/help/" + encodeURIComponent(result.data.id));
        });
      });
    });
    var page = document.getElementById("help-request");
    if (!page) return;
    var give = document.getElementById("give-help");
    if (give) {
      give.addEventListener("click", function () {
        var path = "/v1/help-requests/" + encodeURIComponent(page.dataset.request) + "/help";
        ks.tap(give, path, null).then(function (result) {
          if (!result.ok) return;
          give.hidden = true;
          ks.refreshLive();
        });
      });
    }
    var link = document.getElementById("help-link");
    if (link) {
      link.value = location.origin + link.dataset.path;
      document.getElementById("copy-help-link").addEventListener("click", function () {
        ks.copyText(link.value, link, document.getElementById("copy-status"));
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupHelp();
  });
})();
