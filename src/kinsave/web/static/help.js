// Help requests: start one from an offer, help a relative's, pass its link on. Helpers: app.js.
"use strict";

(function () {
  var ks = window.kinsave;

  function setupHelp() {
    var starts = document.querySelectorAll(".start-help");
    Array.prototype.forEach.call(starts, function (button) {
      button.addEventListener("click", function () {
        var status = document.getElementById(button.getAttribute("aria-describedby"));
        ks.busy(button, true);
        ks.call(button, "POST", "/v1/help-requests", { offer_id: button.dataset.offer }).then(
          function (result) {
            ks.busy(button, false);
            if (result.ok) {
              window.location.assign("/app/help/" + encodeURIComponent(result.data.id));
              return;
            }
            status.textContent = ks.errorText(result);
          }
        );
      });
    });
    var page = document.getElementById("help-request");
    if (!page) return;
    var give = document.getElementById("give-help");
    if (give) {
      give.addEventListener("click", function () {
        ks.busy(give, true);
        ks.showNotice("");
        var path = "/v1/help-requests/" + encodeURIComponent(page.dataset.request) + "/help";
        ks.call(give, "POST", path, null).then(function (result) {
          if (!result.ok) {
            ks.busy(give, false);
            ks.showNotice(ks.errorText(result));
            return;
          }
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
