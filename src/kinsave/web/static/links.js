// The shopper's linked stores: end a link. Helpers: app.js.
"use strict";

(function () {
  var ks = window.kinsave;

  // Linked stores: DELETE /v1/store-links/{shop} answers 204 (no body) when the link ended.
  function setupLinks() {
    var buttons = document.querySelectorAll("#links .unlink");
    var status = document.getElementById("links-status");
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener("click", function () {
        ks.busy(button, true);
        var path = "/v1/store-links/" + encodeURIComponent(button.dataset.shop);
        ks.call(button, "DELETE", path, null).then(function (result) {
          if (result.status !== 204) {
            ks.busy(button, false);
            status.textContent = ks.errorText(result);
            return;
          }
          var row = button.closest("li");
          row.parentNode.removeChild(row);
          status.textContent = ks.t("links.unlinked");
          if (!document.querySelector("#links li")) {
            document.getElementById("links-empty").hidden = false;
          }
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupLinks();
  });
})();
