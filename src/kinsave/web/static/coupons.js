// Claiming coupons (the coupon center and the deals page). Helpers: app.js.
"use strict";

(function () {
  var ks = window.kinsave;

  function setupClaims() {
    var buttons = document.querySelectorAll(".claim-coupon");
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener("click", function () {
        var status = document.getElementById(button.getAttribute("aria-describedby"));
        var body = { template_id: button.dataset.template };
        ks.tap(button, "/v1/coupons/claim", body, { refusal: status }).then(function (result) {
          var card = button.closest(".coupon, .deal");
          if (result.ok) {
            status.textContent = ks.t("coupon.claimed");
            button.hidden = true;
            if (card) card.dataset.state = "claimed";
            // One fewer left at once (others may have claimed too: the re-read says exactly,
            // while the coupon is still in the center).
            var stock = card && card.querySelector(".stock");
            var left = stock ? parseInt(stock.textContent, 10) : NaN;
            if (left > 0) stock.textContent = String(left - 1);
            ks.refreshLive();  // "My coupons" lists it
            return;
          }
          var code = ks.errorCode(result);
          if (card && code) card.dataset.state = code;
          if (code === "coupon_sold_out" || code === "coupon_limit_reached" ||
              code === "coupon_expired" || code === "coupon_not_claimable") {
            button.hidden = true;
            ks.refreshLive();
          }
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupClaims();
  });
})();
