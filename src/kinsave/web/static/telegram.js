// The mini app inside Telegram. Telegram's own script (vendor/telegram-web-app.js) is loaded only
// when the page was opened by Telegram: the launch data sits in the URL's fragment on the first
// page (#tgWebAppData=...), and Telegram's script keeps it in sessionStorage for the next ones.
"use strict";

(function () {
  var ks = window.kinsave;  // app.js's helpers
  var t = ks.t;

  function openedByTelegram() {
    if (/(^#|&)tgWebAppData=/.test(location.hash)) return true;
    try {
      var kept = window.sessionStorage.getItem("__telegram__initParams");
      return !!kept && kept.indexOf("tgWebAppData") >= 0;
    } catch (e) {
      return false;
    }
  }

  function loadTelegram(then) {
    var script = document.createElement("script");
    script.src = "/static/vendor/telegram-web-app.js";
    script.onload = then;
    document.head.appendChild(script);
  }

  function webApp() {
    return window.Telegram && window.Telegram.WebApp;
  }

  // /telegram/app: sign in with the signed launch data, then open where the server says (the
  // target of the share the Mini App was opened from, or home).
  function signIn(entry) {
    var app = webApp();
    var status = document.getElementById("telegram-status");
    if (!app || !app.initData) {
      showOutside(entry);
      return;
    }
    app.ready();
    fetch("/telegram/app/session", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Kinsave-CSRF": ks.cookie("ks_csrf") },
      body: JSON.stringify({ init_data: app.initData }),
    }).then(function (response) {
      return response.json().then(function (data) {
        if (response.ok && data.location) {
          location.replace(data.location);
          return;
        }
        var code = data.error && data.error.code;
        status.hidden = true;
        var refused = document.getElementById("telegram-refused");
        refused.textContent = code ? t("error." + code) : t("state.error");
        refused.hidden = false;
      });
    }, function () {
      status.textContent = t("state.offline");
    });
  }

  function showOutside(entry) {
    document.getElementById("telegram-status").hidden = true;
    document.getElementById("telegram-outside").hidden = false;
    entry.dataset.state = "outside";
  }

  // "Send to a Telegram group": Telegram asks which chat, then types "@bot <envelope id>" there;
  // the bot answers that inline query with the envelope's message and its Grab button.
  function setupSendToGroup() {
    var button = document.getElementById("send-to-telegram");
    var app = webApp();
    if (!button || !app || !app.initData || !app.isVersionAtLeast("6.6")) return;
    var status = document.getElementById("telegram-send-status");
    button.hidden = false;
    button.addEventListener("click", function () {
      try {
        app.switchInlineQuery(button.dataset.query, ["users", "groups"]);
      } catch (e) {
        status.textContent = t("telegram.no_inline");
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var entry = document.getElementById("telegram-entry");
    if (!openedByTelegram()) {
      if (entry) showOutside(entry);
      return;
    }
    loadTelegram(function () {
      if (entry) signIn(entry);
      setupSendToGroup();
    });
  });
})();
