// The console's charts: uPlot (vendored, MIT) fed from the burn JSON. No inline script anywhere.
"use strict";

(function () {
  function xRange(days, day) {
    var min = days[0];
    var max = days[days.length - 1];
    return max - min < 6 * day ? [min - 3 * day, max + 3 * day] : [min, max];
  }

  // A chart of days read from its figure's data-url: no rows shows the figure's empty text, and
  // data-rendered says how it ended (chart, empty or error).
  function drawDays(figure, rowsOf, plot) {
    fetch(figure.dataset.url, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(figure.id + " data " + response.status);
        return response.json();
      })
      .then(function (data) {
        var rows = rowsOf(data);
        if (!rows.length) {
          var empty = document.createElement("p");
          empty.className = "empty";
          empty.textContent = figure.dataset.empty;
          figure.appendChild(empty);
          figure.dataset.rendered = "empty";
          return;
        }
        // Days at noon UTC so that every timezone's axis shows the intended date.
        var days = rows.map(function (r) { return Date.parse(r.day + "T12:00:00Z") / 1000; });
        plot(rows, days);
        figure.dataset.rendered = "chart";
      })
      .catch(function () {
        figure.dataset.rendered = "error";
      });
  }

  // What every chart of days shares: its size, and its x axis as dates.
  function dayAxisOptions(figure, days, extra) {
    var options = {
      width: Math.max(figure.clientWidth, 280),
      height: 260,
      // The points are local days: show them as dates, whatever the viewer's timezone.
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      // A fresh campaign has one or two days: keep a readable week around them.
      scales: { x: { time: true, auto: false, range: xRange(days, 86400) } },
    };
    return Object.assign(options, extra);
  }

  function drawBurn(figure) {
    drawDays(figure, function (burn) { return burn.points; }, function (points, days) {
      // The burn itself: what went out each day and in total (remaining is in the facts above;
      // a budget topped up later would otherwise dwarf the spending on the same axis).
      var daily = points.map(function (p) { return p.spent / 100; });
      var toDate = points.map(function (p) { return p.spent_to_date / 100; });
      var yuanFormat = new Intl.NumberFormat(document.documentElement.lang || "en", {
        style: "currency", currency: "CNY", currencyDisplay: "narrowSymbol",
      });
      var yuan = function (_u, value) { return value == null ? "" : yuanFormat.format(value); };
      var options = dayAxisOptions(figure, days, {
        series: [
          {},
          { label: figure.dataset.labelDaily, stroke: "#8f0b20", fill: "rgba(200,16,46,0.12)",
            width: 2, value: yuan, points: { show: true, size: 7 } },
          { label: figure.dataset.labelToDate, stroke: "#1a56db", width: 2, value: yuan,
            points: { show: true, size: 7 } },
        ],
        axes: [{}, { size: 70, values: function (_u, ticks) {
          return ticks.map(function (v) { return yuanFormat.format(v); });
        } }],
      });
      new uPlot(options, [days, daily, toDate], figure);
    });
  }

  function drawFunnel(figure) {
    drawDays(figure, function (report) { return report.rows; }, function (rows, days) {
      function column(name) { return rows.map(function (r) { return r[name]; }); }
      var options = dayAxisOptions(figure, days, {
        series: [
          {},
          { label: figure.dataset.labelShares, stroke: "#1a56db", width: 2, points: { show: true, size: 7 } },
          { label: figure.dataset.labelResolves, stroke: "#8f0b20", width: 2, points: { show: true, size: 7 } },
          { label: figure.dataset.labelOrders, stroke: "#0b6e2e", width: 2, points: { show: true, size: 7 } },
        ],
      });
      new uPlot(options, [days, column("shares"), column("resolves"), column("orders")], figure);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var figure = document.getElementById("burn-chart");
    if (figure) drawBurn(figure);
    var funnelFigure = document.getElementById("funnel-chart");
    if (funnelFigure) drawFunnel(funnelFigure);
  });
})();
