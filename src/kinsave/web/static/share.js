// The share sheet: a share of a target on the chosen channel, its link, card, QR code and text
// to copy. Helpers: app.js.
"use strict";

(function () {
  var ks = window.kinsave;

  function setupShare() {
    var form = document.getElementById("share-form");
    if (!form) return;
    var error = document.getElementById("share-error");
    var token = document.getElementById("share-token");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var checked = form.querySelector("input[name=channel]:checked");
      if (!checked) return;
      var body = {
        target: { type: form.dataset.type, id: form.dataset.id },
        channel: checked.value,
      };
      // The copy is in the shopper's language (the page's).
      body.language = document.documentElement.lang === "zh-CN" ? "zh-CN" : "en";
      if (form.dataset.campaign) body.campaign_id = form.dataset.campaign;
      else body.shop_id = form.dataset.shop;
      // A new channel is a new share: a new key (a retry of the same tap keeps its key).
      if (form.dataset.channel !== checked.value) delete form.dataset.key;
      form.dataset.channel = checked.value;
      var submit = form.querySelector("button[type=submit]");
      ks.tap(submit, "/v1/shares", body, { key: form, refusal: error }).then(function (result) {
        if (!result.ok) return;
        var share = result.data;
        var link = document.getElementById("share-link");
        document.getElementById("share-link-box").hidden = !share.link;
        document.getElementById("share-no-link").hidden = !!share.link;
        if (share.link) {
          link.textContent = share.link;
          link.href = share.link;
        }
        showCard(share.mini_app_card);
        var qr = document.getElementById("share-qr");
        document.getElementById("share-qr-box").hidden = !share.qr_png_url;
        if (share.qr_png_url) qr.src = share.qr_png_url;
        token.value = share.text;
        document.getElementById("copy-status").textContent = "";
        var box = document.getElementById("share-result");
        box.hidden = false;
        box.dataset.channel = share.channel;
      });
    });
    document.getElementById("copy-token").addEventListener("click", function () {
      ks.copyText(token.value, token, document.getElementById("copy-status"));
    });
  }

  // The mini-app card the host will show (title, picture, the path it opens), where allowed.
  function showCard(card) {
    document.getElementById("share-card-box").hidden = !card;
    if (!card) return;
    document.getElementById("share-card-title").textContent = card.title;
    document.getElementById("share-card-path").textContent = card.path;
    var picture = document.getElementById("share-card-picture");
    // The pages load pictures from their own origin only (CSP): a store's picture is not shown.
    var ours = new URL(card.picture_url, location.href).origin === location.origin;
    picture.hidden = !ours;
    if (ours) picture.src = card.picture_url;
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupShare();
  });
})();
