/* Charts of the quality indicators page (Chart.js 4, vendored). The data come from the page's JSON script
   tag, computed by the same selectors as the tables below; without JavaScript the tables say it all. */
(function () {
  "use strict";
  var source = document.getElementById("indicator-charts");
  if (!source || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
  var palette = ["#2f5d7c", "#8a6d1d", "#2f6b3c", "#8c2f2f", "#6b4f8c", "#3f7f7f", "#a0522d", "#556b2f",
                 "#4682b4", "#b8860b", "#708090", "#9c6644", "#5f9ea0", "#8b4513", "#483d8b", "#2e8b57"];
  var french = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 1 });
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.animation = false;

  function targetLine(label, values, colour) {
    return { type: "line", label: label, data: values, borderColor: colour, borderDash: [6, 4],
             borderWidth: 1.5, pointRadius: 0, fill: false, spanGaps: true };
  }
  function percentAxis() {
    return { beginAtZero: true, ticks: { callback: function (v) { return french.format(v) + " %"; } } };
  }
  function tooltip(unit) {
    return { callbacks: { label: function (c) {
      return c.dataset.label + " : " + (c.parsed.y === null ? "—" : french.format(c.parsed.y) + unit);
    } } };
  }

  var rates = data.rates;
  if (rates && rates.labels.length) {
    var n = rates.labels.length;
    new Chart(document.getElementById("chart-rates"), {
      type: "line",
      data: { labels: rates.labels, datasets: [
        { label: rates.series[0].label, data: rates.series[0].data, borderColor: palette[0], backgroundColor: palette[0], spanGaps: true },
        { label: rates.series[1].label, data: rates.series[1].data, borderColor: palette[1], backgroundColor: palette[1], spanGaps: true },
        targetLine(rates.targets[0].label, new Array(n).fill(rates.targets[0].value), palette[0]),
        targetLine(rates.targets[1].label, new Array(n).fill(rates.targets[1].value), palette[1])
      ] },
      options: { maintainAspectRatio: false, scales: { y: percentAxis() }, plugins: { tooltip: tooltip(" %") } }
    });
  }

  var readers = data.readers;
  if (readers && readers.labels.length) {
    new Chart(document.getElementById("chart-readers"), {
      type: "bar",
      data: { labels: readers.labels, datasets: [
        { label: readers.series[0].label, data: readers.series[0].data, backgroundColor: palette[0] },
        { type: "line", label: readers.target_label, data: readers.targets, borderColor: palette[3],
          pointRadius: 14, pointHoverRadius: 14, pointBorderWidth: 2, pointStyle: "line", fill: false, showLine: false }
      ] },
      options: { maintainAspectRatio: false, scales: { y: { beginAtZero: true } }, plugins: { tooltip: tooltip("") } }
    });
  }

  var demat = data.dematerialisation;
  if (demat && demat.labels.length) {
    new Chart(document.getElementById("chart-demat"), {
      type: "line",
      data: { labels: demat.labels, datasets: demat.series.map(function (s, i) {
        var colour = palette[i % palette.length];
        return { label: s.label, data: s.data, borderColor: colour, backgroundColor: colour, spanGaps: true };
      }) },
      options: { maintainAspectRatio: false, scales: { y: Object.assign(percentAxis(), { max: 100 }) },
                 plugins: { tooltip: tooltip(" %"), legend: { labels: { boxWidth: 12 } } } }
    });
  }
})();
