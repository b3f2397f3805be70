// Draws the dashboard's charts from the JSON the tables partial carries, and again each time the
// filters swap a new partial in (the old charts are destroyed first, or Chart.js keeps them).
(() => {
  const charts = [];
  const colours = { early: "#1d7a3a", on_time: "#5aa469", late: "#a61c1c", overdue: "#b86e00" };

  function draw() {
    charts.splice(0).forEach((chart) => chart.destroy());
    const source = document.getElementById("supervise-chart-data");
    if (!source || typeof Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    if (!data.results) return;
    const communes = document.getElementById("chart-communes");
    const results = document.getElementById("chart-results");
    charts.push(new Chart(communes, {
      type: "bar",
      data: {
        labels: data.by_commune.labels,
        datasets: [
          { label: t("Trước hạn"), data: data.by_commune.early, backgroundColor: colours.early, stack: "done" },
          { label: t("Đúng hạn"), data: data.by_commune.on_time, backgroundColor: colours.on_time, stack: "done" },
          { label: t("Quá hạn"), data: data.by_commune.late, backgroundColor: colours.late, stack: "done" },
          { label: t("Đang xử lý quá hạn"), data: data.by_commune.overdue, backgroundColor: colours.overdue, stack: "open" },
        ],
      },
      options: { animation: false, aspectRatio: 2.4, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
    }));
    charts.push(new Chart(results, {
      type: "doughnut",
      data: {
        labels: data.results.labels,
        datasets: [{ data: data.results.values, backgroundColor: [colours.early, colours.on_time, colours.late] }],
      },
      options: { animation: false, aspectRatio: 1.4 },
    }));
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
