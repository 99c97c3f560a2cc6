// Envelopes in the mini app: open today's daily envelope (home), send a lucky or equal envelope,
// grab from one and pass it on (its page), send it to the family circle. Helpers: app.js.
"use strict";

(function () {
  var ks = window.kinsave;

  function setupDaily() {
    var button = document.getElementById("claim-daily");
    if (!button) return;
    button.addEventListener("click", function () {
      var path = "/v1/daily/" + encodeURIComponent(button.dataset.campaign) + "/claim";
      ks.tap(button, path, null).then(function (result) {
        if (!result.ok) return;
        var envelope = document.getElementById("daily-envelope");
        envelope.classList.add("opening");
        document.getElementById("daily-amount").textContent = ks.money(result.data.amount);
        document.getElementById("daily-landed").hidden = false;
        button.hidden = true;
        // The credit is the daily campaign's shop's: its line of the wallet grows.
        var balance = document.querySelector(
          '#wallet-balances [data-shop-id="' + button.dataset.shop + '"] .balance'
        );
        if (!balance) return;
        var total = parseInt(balance.dataset.balance, 10) + result.data.amount;
        balance.dataset.balance = String(total);
        balance.textContent = ks.money(total);
        balance.classList.add("landing");
      });
    });
  }

  function setupSend() {
    var form = document.getElementById("send-form");
    if (!form) return;
    var error = document.getElementById("send-error");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var total = ks.parseYuan(form.elements.total.value);
      var shares = parseInt(form.elements.shares.value, 10);
      // The service's limits, named (the page renders them from the same settings).
      var maxTotal = parseInt(form.dataset.maxTotal, 10);
      var maxShares = parseInt(form.dataset.maxShares, 10);
      if (total === null || !(shares >= 1 && shares <= maxShares) ||
          total < shares || total > maxTotal) {
        ks.showNotice(form.dataset.limits, error);
        return;
      }
      var body = {
        total: total,
        shares: shares,
        kind: form.elements.kind.value,
        message: form.elements.message.value,
      };
      if (form.elements.shop) body.shop_id = form.elements.shop.value;
      var submit = form.querySelector("button[type=submit]");
      var options = { key: form, refusal: error };
      ks.tap(submit, "/v1/envelopes", body, options).then(function (result) {
        if (result.ok) {
          window.location.assign("/app/e/" + encodeURIComponent(result.data.id));
        } else if (ks.errorCode(result) === "invalid_amount") {
          ks.showNotice(form.dataset.limits, error);
        }
      });
    });
  }

  function setupEnvelope() {
    var page = document.getElementById("envelope");
    if (!page) return;
    var grab = document.getElementById("grab");
    if (grab) {
      grab.addEventListener("click", function () {
        var path = "/v1/envelopes/" + encodeURIComponent(page.dataset.envelope) + "/grab";
        ks.tap(grab, path, null).then(function (result) {
          if (!result.ok) {
            if (result.status >= 400 && result.status < 500) ks.refreshLive();
            return;
          }
          grab.hidden = true;
          page.querySelector(".envelope").classList.add("opening");
          document.getElementById("grab-amount").textContent = ks.money(result.data.amount);
          // The count and the list of who grabbed include this grab at once; the envelope
          // turns into "you got" once its opening animation has played.
          ks.refreshLive(["envelope-facts", "envelope-grabs"]);
          window.setTimeout(ks.refreshLive, 900);
        });
      });
    }
    // The link sits in a field of its own, so that without the Clipboard API there is still
    // something to select (the old fallback only printed the address as plain status text).
    var link = document.getElementById("envelope-link");
    link.value = location.origin + link.dataset.path;
    document.getElementById("copy-link").addEventListener("click", function () {
      var status = document.getElementById("copy-status");
      ks.copyText(link.value, link, status, ks.t("envelope.copied"));
    });
  }

  // "Send to my family circle": the envelope shows on every relative's home page.
  function setupCircle() {
    var button = document.getElementById("send-to-circle");
    if (!button) return;
    var status = document.getElementById("circle-status");
    button.addEventListener("click", function () {
      var body = { envelope_id: button.dataset.envelope };
      ks.tap(button, "/v1/circle/envelopes", body, { refusal: status }).then(function (result) {
        if (!result.ok) return;
        button.hidden = true;
        status.textContent = ks.t(result.data.relatives ? "circle.sent" : "circle.no_relatives");
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupDaily();
    setupSend();
    setupEnvelope();
    setupCircle();
  });
})();
