// The dashboard's charts: the counts come from <script type="application/json"> blocks the page renders
// (json_script), drawn with the vendored Chart.js (static/vendor/chartjs). Without scripts the tables under
// each chart say the same.
(function () {
  "use strict";
  if (typeof Chart === "undefined") {
    return;
  }
  var brand = "#0b4f8a";
  function draw(name, source) {
    var canvas = document.getElementById("chart-" + name);
    var data = document.getElementById(source);
    if (!canvas || !data) {
      return;
    }
    var series = JSON.parse(data.textContent);
    new Chart(canvas, {
      type: canvas.dataset.kind || "bar",
      data: {
        labels: series.labels,
        datasets: [{
          label: canvas.dataset.label,
          data: series.counts,
          backgroundColor: brand,
          borderColor: brand,
          pointRadius: 2,
          tension: 0.2
        }]
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
      }
    });
  }
  draw("per-hour", "visits-per-hour");
  draw("per-day", "visits-per-day");
})();
