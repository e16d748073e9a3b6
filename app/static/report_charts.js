// Draws the charts of report pages with the vendored Chart.js. Each chart reads its data from
// the JSON element beside its canvas, built by app/reports/charts.py, so templates never
// assemble script from strings.
(function () {
  "use strict";
  if (!window.Chart) {
    return;
  }
  // Long school names are cut on the axis, so the bars keep their width on a phone. The
  // tooltip shows the whole name.
  var LABEL_MAX = 22;
  var BAR_HEIGHT = 28;
  var COLORS = ["#1565c0", "#c62828", "#2e7d32", "#ef6c00"];

  function shortLabel(label) {
    return label.length > LABEL_MAX ? label.slice(0, LABEL_MAX - 1) + "…" : label;
  }

  function formatValue(value, percent) {
    if (value === null || value === undefined) {
      return "—";
    }
    var text = value.toLocaleString(document.documentElement.lang || "ru", {
      maximumFractionDigits: 2,
    });
    return percent ? text + " %" : text;
  }

  function dataset(series, index) {
    var color = COLORS[index % COLORS.length];
    var common = { label: series.label, data: series.values, percent: series.percent };
    if (series.reference) {
      // The reference (the authority's value) is a dashed line drawn over the bars.
      return Object.assign(common, {
        type: "line",
        order: 0,
        borderColor: color,
        borderDash: [6, 4],
        borderWidth: 2,
        pointRadius: 0,
        fill: false,
      });
    }
    return Object.assign(common, { type: "bar", order: 1, backgroundColor: color });
  }

  function draw(figure) {
    var source = figure.querySelector("script.report-chart-data");
    var canvas = figure.querySelector("canvas");
    var chart = JSON.parse(source.textContent);
    var horizontal = chart.kind === "bar";
    var percent = chart.series.some(function (series) { return series.percent; });
    var area = figure.querySelector(".report-chart-area");
    area.style.height = (horizontal ? Math.max(200, chart.labels.length * BAR_HEIGHT + 90) : 320) + "px";

    var valueAxis = {
      beginAtZero: true,
      ticks: { callback: function (value) { return formatValue(value, percent); } },
    };
    var categoryAxis = {
      ticks: {
        autoSkip: false,
        callback: function (value) { return shortLabel(this.getLabelForValue(value)); },
      },
    };
    new window.Chart(canvas, {
      data: { labels: chart.labels, datasets: chart.series.map(dataset) },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
        plugins: {
          title: { display: true, text: chart.title },
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              title: function (items) { return items.length ? chart.labels[items[0].dataIndex] : ""; },
              label: function (item) {
                return item.dataset.label + ": " + formatValue(item.raw, item.dataset.percent);
              },
            },
          },
        },
      },
    });
  }

  document.querySelectorAll("figure.report-chart").forEach(draw);
})();
