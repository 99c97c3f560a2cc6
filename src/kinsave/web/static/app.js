// The mini app's shared behaviour, on every page: plain JavaScript, no build step. User text only
// ever goes through textContent, never innerHTML. Requests carry the CSRF cookie in
// X-Kinsave-CSRF and an Idempotency-Key that is kept across retries of the same tap.
// Each page's own buttons are in a script of their feature (envelopes.js, coupons.js, share.js,
// help.js, links.js; groups.js), which uses these helpers as `window.kinsave`.
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

  function errorCode(result) {
    return (result.data && result.data.error && result.data.error.code) || "";
  }

  function errorText(result) {
    if (result.offline) return t("state.offline");
    var code = errorCode(result);
    if (code === "unauthorized") {
      window.location.assign("/app/login?next=" + encodeURIComponent(location.pathname));
    }
    return code ? t("error." + code) : t("state.error");
  }

  // Words for the shopper in `place`, or in the page's notice without one. An alert (the notice,
  // a form's error) shows only while it has something to say; a status line stays in place, as a
  // live region must exist before its text changes for a screen reader to announce the change.
  function showNotice(text, place) {
    var notice = place || document.getElementById("notice");
    notice.textContent = text;
    if (notice.getAttribute("role") === "alert") notice.hidden = !text;
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

  // One tap that asks the API to do something, the same way on every page: the button is busy
  // while the call runs, the last refusal is cleared, and a refusal is put in words in
  // `options.refusal` (an element; the page's notice without one). The button is released when
  // the answer comes (a spent one is hidden by its page). The idempotency key is kept on
  // `options.key` (a form) or on the button. Resolves to the call's result, refused or not, for
  // the page to add what is its own.
  function tap(button, path, body, options) {
    var refusal = (options && options.refusal) || null;
    busy(button, true);
    showNotice("", refusal);
    return call((options && options.key) || button, "POST", path, body).then(function (result) {
      busy(button, false);
      if (!result.ok) showNotice(errorText(result), refusal);
      return result;
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

  window.kinsave = Object.freeze({
    t: t,
    money: money,
    parseYuan: parseYuan,
    cookie: cookie,
    newKey: newKey,
    call: call,
    tap: tap,
    errorCode: errorCode,
    errorText: errorText,
    showNotice: showNotice,
    busy: busy,
    refreshLive: refreshLive,
    copyText: copyText,
  });

  document.addEventListener("DOMContentLoaded", watchConnection);
})();
