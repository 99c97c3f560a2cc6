// The mini app's behaviour: plain JavaScript, no build step. User text only ever goes through
// textContent, never innerHTML. Requests carry the CSRF cookie in X-Kinsave-CSRF and an
// Idempotency-Key that is kept across retries of the same tap.
"use strict";

(function () {
  var messages = {};
  try {
    messages = JSON.parse(document.getElementById("ks-messages").textContent || "{}");
  } catch (e) {
    messages = {};
  }

  function t(key) {
    return messages[key] || messages["state.error"] || key;
  }

  // Fen as yuan in the page's language (the same CLDR formats as the server's Babel). Integer
  // fen up to 2^53 divide by 100 exactly enough for display: the API's amounts stay integers.
  var yuanFormat = new Intl.NumberFormat(document.documentElement.lang || "en", {
    style: "currency",
    currency: "CNY",
    currencyDisplay: "narrowSymbol",
  });
  function money(amount) {
    return yuanFormat.format(amount / 100);
  }

  // "10", "10.5", "10.50" -> 1050 fen, parsed as text so no float ever touches money.
  function parseYuan(text) {
    var match = /^\s*(\d{1,7})(?:\.(\d{1,2}))?\s*$/.exec(text);
    if (!match) return null;
    var fen = (match[2] || "").padEnd(2, "0");
    return parseInt(match[1], 10) * 100 + parseInt(fen, 10);
  }

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
    }
    return "";
  }

  function newKey() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  // One logical action (a tap) keeps its key until it gets an answer, so a retry after a
  // dropped connection can never pay twice.
  function call(element, method, path, body) {
    if (!element.dataset.key) element.dataset.key = newKey();
    var headers = {
      "Content-Type": "application/json",
      "X-Kinsave-CSRF": cookie("ks_csrf"),
      "Idempotency-Key": element.dataset.key,
    };
    return fetch(path, {
      method: method,
      headers: headers,
      credentials: "same-origin",
      body: body ? JSON.stringify(body) : undefined,
    }).then(
      function (response) {
        delete element.dataset.key;
        return response.json().then(
          function (data) { return { ok: response.ok, status: response.status, data: data }; },
          function () { return { ok: false, status: response.status, data: {} }; }
        );
      },
      function () {
        return { ok: false, status: 0, offline: true, data: {} };
      }
    );
  }

  function errorText(result) {
    if (result.offline) return t("state.offline");
    var code = result.data && result.data.error && result.data.error.code;
    if (code === "unauthorized") {
      window.location.assign("/app/login?next=" + encodeURIComponent(location.pathname));
    }
    return code ? t("error." + code) : t("state.error");
  }

  function showNotice(text) {
    var notice = document.getElementById("notice");
    notice.textContent = text;
    notice.hidden = !text;
  }

  function watchConnection() {
    var banner = document.getElementById("offline");
    function update() { banner.hidden = navigator.onLine; }
    window.addEventListener("online", update);
    window.addEventListener("offline", update);
    update();
  }

  function busy(button, on) {
    button.disabled = on;
    button.setAttribute("aria-busy", on ? "true" : "false");
  }

  function setupDaily() {
    var button = document.getElementById("claim-daily");
    if (!button) return;
    button.addEventListener("click", function () {
      busy(button, true);
      showNotice("");
      var path = "/v1/daily/" + encodeURIComponent(button.dataset.campaign) + "/claim";
      call(button, "POST", path, null).then(function (result) {
        if (!result.ok) {
          busy(button, false);
          showNotice(errorText(result));
          return;
        }
        var envelope = document.getElementById("daily-envelope");
        envelope.classList.add("opening");
        document.getElementById("daily-amount").textContent = money(result.data.amount);
        document.getElementById("daily-landed").hidden = false;
        button.hidden = true;
        // The credit is the daily campaign's shop's: its line of the wallet grows.
        var balance = document.querySelector(
          '#wallet-balances [data-shop-id="' + button.dataset.shop + '"] .balance'
        );
        if (!balance) return;
        var total = parseInt(balance.dataset.balance, 10) + result.data.amount;
        balance.dataset.balance = String(total);
        balance.textContent = money(total);
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
      var total = parseYuan(form.elements.total.value);
      var shares = parseInt(form.elements.shares.value, 10);
      // The service's limits, named (the page renders them from the same settings).
      var maxTotal = parseInt(form.dataset.maxTotal, 10);
      var maxShares = parseInt(form.dataset.maxShares, 10);
      if (total === null || !(shares >= 1 && shares <= maxShares) ||
          total < shares || total > maxTotal) {
        error.textContent = form.dataset.limits;
        error.hidden = false;
        return;
      }
      var submit = form.querySelector("button[type=submit]");
      busy(submit, true);
      var body = {
        total: total,
        shares: shares,
        kind: form.elements.kind.value,
        message: form.elements.message.value,
      };
      if (form.elements.shop) body.shop_id = form.elements.shop.value;
      call(form, "POST", "/v1/envelopes", body).then(function (result) {
        busy(submit, false);
        if (result.ok) {
          window.location.assign("/app/e/" + encodeURIComponent(result.data.id));
          return;
        }
        var code = result.data && result.data.error && result.data.error.code;
        error.textContent = code === "invalid_amount" ? form.dataset.limits : errorText(result);
        error.hidden = false;
      });
    });
  }

  function setupEnvelope() {
    var page = document.getElementById("envelope");
    if (!page) return;
    var grab = document.getElementById("grab");
    if (grab) {
      grab.addEventListener("click", function () {
        busy(grab, true);
        showNotice("");
        var path = "/v1/envelopes/" + encodeURIComponent(page.dataset.envelope) + "/grab";
        call(grab, "POST", path, null).then(function (result) {
          if (!result.ok) {
            busy(grab, false);
            showNotice(errorText(result));
            if (result.status >= 400 && result.status < 500) refreshLive();
            return;
          }
          grab.hidden = true;
          page.querySelector(".envelope").classList.add("opening");
          document.getElementById("grab-amount").textContent = money(result.data.amount);
          // The count and the list of who grabbed include this grab at once; the envelope
          // turns into "you got" once its opening animation has played.
          refreshLive(["envelope-facts", "envelope-grabs"]);
          window.setTimeout(refreshLive, 900);
        });
      });
    }
    // The link sits in a field of its own, so that without the Clipboard API there is still
    // something to select (the old fallback only printed the address as plain status text).
    var link = document.getElementById("envelope-link");
    link.value = location.origin + link.dataset.path;
    document.getElementById("copy-link").addEventListener("click", function () {
      copyText(link.value, link, document.getElementById("copy-status"), t("envelope.copied"));
    });
  }

  // "Send to my family circle": the envelope shows on every relative's home page.
  function setupCircle() {
    var button = document.getElementById("send-to-circle");
    if (!button) return;
    var status = document.getElementById("circle-status");
    button.addEventListener("click", function () {
      busy(button, true);
      var body = { envelope_id: button.dataset.envelope };
      call(button, "POST", "/v1/circle/envelopes", body).then(function (result) {
        busy(button, false);
        if (!result.ok) {
          status.textContent = errorText(result);
          return;
        }
        button.hidden = true;
        status.textContent = t(result.data.relatives ? "circle.sent" : "circle.no_relatives");
      });
    });
  }

  // After an action the page's live parts (elements with an id and `data-live`) are read again
  // from the server and swapped in, so the page shows the new state at once, without a reload.
  // DOMParser's document is inert (no script runs), and the page is our own autoescaped HTML.
  function refreshLive(only) {
    return fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        Array.prototype.forEach.call(document.querySelectorAll("[data-live]"), function (old) {
          if (only && only.indexOf(old.id) < 0) return;
          var replacement = fresh.getElementById(old.id);
          if (replacement) old.replaceWith(document.importNode(replacement, true));
        });
        document.dispatchEvent(new CustomEvent("ks:refreshed"));
      }, function () {});
  }

  // Copy text with the Clipboard API; without it (or refused), select the text so a long
  // press or Ctrl+C copies it.
  function copyText(text, field, status, copiedMessage) {
    function fallback() {
      if (field) {
        field.focus();
        field.select();
        // iOS web views ignore select() on a read-only field; an explicit range works there.
        field.setSelectionRange(0, field.value.length);
      }
      status.textContent = t("share.select_to_copy");
    }
    if (!(navigator.clipboard && navigator.clipboard.writeText && window.isSecureContext)) {
      fallback();
      return;
    }
    try {
      navigator.clipboard.writeText(text).then(function () {
        status.textContent = copiedMessage || t("share.copied");
      }, fallback);
    } catch (e) {
      fallback();  // some hosts' web views throw instead of rejecting
    }
  }

  function setupClaims() {
    var buttons = document.querySelectorAll(".claim-coupon");
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener("click", function () {
        var status = document.getElementById(button.getAttribute("aria-describedby"));
        busy(button, true);
        status.textContent = "";
        var body = { template_id: button.dataset.template };
        call(button, "POST", "/v1/coupons/claim", body).then(function (result) {
          busy(button, false);
          var card = button.closest(".coupon, .deal");
          if (result.ok) {
            status.textContent = t("coupon.claimed");
            button.hidden = true;
            if (card) card.dataset.state = "claimed";
            // One fewer left at once (others may have claimed too: the re-read says exactly,
            // while the coupon is still in the center).
            var stock = card && card.querySelector(".stock");
            var left = stock ? parseInt(stock.textContent, 10) : NaN;
            if (left > 0) stock.textContent = String(left - 1);
            refreshLive();  // "My coupons" lists it
            return;
          }
          status.textContent = errorText(result);
          var code = result.data && result.data.error && result.data.error.code;
          if (card && code) card.dataset.state = code;
          if (code === "coupon_sold_out" || code === "coupon_limit_reached" ||
              code === "coupon_expired" || code === "coupon_not_claimable") {
            button.hidden = true;
            refreshLive();
          }
        });
      });
    });
  }

  function setupShare() {
    var form = document.getElementById("share-form");
    if (!form) return;
    var error = document.getElementById("share-error");
    var token = document.getElementById("share-token");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var checked = form.querySelector("input[name=channel]:checked");
      if (!checked) return;
      var submit = form.querySelector("button[type=submit]");
      busy(submit, true);
      error.hidden = true;
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
      call(form, "POST", "/v1/shares", body).then(function (result) {
        busy(submit, false);
        if (!result.ok) {
          error.textContent = errorText(result);
          error.hidden = false;
          return;
        }
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
      copyText(token.value, token, document.getElementById("copy-status"));
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

  function setupHelp() {
    var starts = document.querySelectorAll(".start-help");
    Array.prototype.forEach.call(starts, function (button) {
      button.addEventListener("click", function () {
        var status = document.getElementById(button.getAttribute("aria-describedby"));
        busy(button, true);
        call(button, "POST", "/v1/help-requests", { offer_id: button.dataset.offer }).then(
          function (result) {
            busy(button, false);
            if (result.ok) {
              window.location.assign("/app/help/" + encodeURIComponent(result.data.id));
              return;
            }
            status.textContent = errorText(result);
          }
        );
      });
    });
    var page = document.getElementById("help-request");
    if (!page) return;
    var give = document.getElementById("give-help");
    if (give) {
      give.addEventListener("click", function () {
        busy(give, true);
        showNotice("");
        var path = "/v1/help-requests/" + encodeURIComponent(page.dataset.request) + "/help";
        call(give, "POST", path, null).then(function (result) {
          if (!result.ok) {
            busy(give, false);
            showNotice(errorText(result));
            return;
          }
          give.hidden = true;
          refreshLive();
        });
      });
    }
    var link = document.getElementById("help-link");
    if (link) {
      link.value = location.origin + link.dataset.path;
      document.getElementById("copy-help-link").addEventListener("click", function () {
        copyText(link.value, link, document.getElementById("copy-status"));
      });
    }
  }

  // Linked stores: DELETE /v1/store-links/{shop} answers 204 (no body) when the link ended.
  function setupLinks() {
    var buttons = document.querySelectorAll("#links .unlink");
    var status = document.getElementById("links-status");
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener("click", function () {
        busy(button, true);
        var path = "/v1/store-links/" + encodeURIComponent(button.dataset.shop);
        call(button, "DELETE", path, null).then(function (result) {
          if (result.status !== 204) {
            busy(button, false);
            status.textContent = errorText(result);
            return;
          }
          var row = button.closest("li");
          row.parentNode.removeChild(row);
          status.textContent = t("links.unlinked");
          if (!document.querySelector("#links li")) {
            document.getElementById("links-empty").hidden = false;
          }
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    watchConnection();
    setupDaily();
    setupSend();
    setupEnvelope();
    setupCircle();
    setupClaims();
    setupShare();
    setupHelp();
    setupLinks();
  });
})();
