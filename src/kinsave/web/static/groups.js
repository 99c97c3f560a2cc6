// The group deal and price cut pages' buttons: start or join a group, start or help a price cut.
// Same conventions and helpers (window.kinsave) as app.js: the CSRF cookie in X-Kinsave-CSRF, one
// Idempotency-Key per tap kept across retries, user text only through textContent.
"use strict";

(function () {
  var ks = window.kinsave;  // app.js's helpers

  function post(button, path, body, extraHeaders) {
    if (!button.dataset.key) button.dataset.key = ks.newKey();
    button.disabled = true;
    var headers = {
      "Content-Type": "application/json",
      "X-Kinsave-CSRF": ks.cookie("ks_csrf"),
      "Idempotency-Key": button.dataset.key,
    };
    Object.keys(extraHeaders || {}).forEach(function (name) { headers[name] = extraHeaders[name]; });
    return fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: headers,
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (response) {
      delete button.dataset.key;
      return response.json().then(function (data) {
        button.disabled = false;
        if (!response.ok) {
          var notice = document.getElementById("notice");
          notice.textContent = (data.error && data.error.message) || response.statusText;
          notice.hidden = false;
        }
        return response.ok ? data : null;
      });
    });
  }

  function onClick(id, action) {
    var button = document.getElementById(id);
    if (button) button.addEventListener("click", function () { action(button); });
  }

  function go(path) {
    return function (data) { if (data) window.location.assign(path(data)); };
  }

  var deal = document.getElementById("group-deal");
  if (deal) {
    onClick("start-group", function (button) {
      var path = "/v1/group-deals/" + encodeURIComponent(deal.dataset.deal) + "/groups";
      post(button, path).then(go(function (g) { return "/app/groups/" + g.id; }));
    });
    // Start, then straight to the share sheet of the new group (the deal page's share button).
    onClick("start-and-share", function (button) {
      var path = "/v1/group-deals/" + encodeURIComponent(deal.dataset.deal) + "/groups";
      post(button, path).then(go(function (g) {
        return "/app/share?type=group&id=" + encodeURIComponent(g.id) +
          "&shop=" + encodeURIComponent(button.dataset.shop) +
          "&title=" + encodeURIComponent(button.dataset.title);
      }));
    });
    Array.prototype.forEach.call(document.querySelectorAll(".join-group"), function (button) {
      button.addEventListener("click", function () {
        var path = "/v1/groups/" + encodeURIComponent(button.dataset.group) + "/join";
        post(button, path).then(go(function (g) { return "/app/groups/" + g.id; }));
      });
    });
  }

  var group = document.getElementById("group");
  if (group) {
    onClick("join-group", function (button) {
      var path = "/v1/groups/" + encodeURIComponent(group.dataset.group) + "/join";
      // Came through a share (/app/open): the join is the share's, through its channel.
      var via = group.dataset.share ? { "X-Share-Code": group.dataset.share } : {};
      post(button, path, undefined, via).then(go(function () { return location.pathname; }));
    });
    // A full or failed group: a new group of the same deal instead of a dead end.
    onClick("start-new-group", function (button) {
      var path = "/v1/group-deals/" + encodeURIComponent(button.dataset.deal) + "/groups";
      post(button, path).then(go(function (g) { return "/app/groups/" + g.id; }));
    });
  }

  var offer = document.getElementById("price-cut-offer");
  if (offer) {
    onClick("start-cut", function (button) {
      post(button, "/v1/price-cuts", { offer_id: offer.dataset.offer }).then(
        go(function (c) { return "/app/price-cuts/" + c.id; })
      );
    });
  }

  var cut = document.getElementById("price-cut");
  if (cut) {
    onClick("help-cut", function (button) {
      var path = "/v1/price-cuts/" + encodeURIComponent(cut.dataset.cut) + "/help";
      // Came through a share (/app/open): the help records it.
      var via = cut.dataset.share ? { "X-Share-Code": cut.dataset.share } : {};
      post(button, path, undefined, via).then(go(function () { return location.pathname; }));
    });
  }

  ["group-link", "cut-link"].forEach(function (id) {
    var link = document.getElementById(id);
    if (link) link.value = location.origin + link.dataset.path;
  });
  onClick("copy-group-link", function () {
    var link = document.getElementById("group-link");
    link.select();
    if (navigator.clipboard) navigator.clipboard.writeText(link.value);
  });
})();
