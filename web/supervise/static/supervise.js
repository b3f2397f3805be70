// Draws the dashboard's charts from the JSON the tables partial carries, and again each time the
// filters swap a new partial in (the old charts are destroyed first, or Chart.js keeps them).
// Every bar opens the list of dossiers (or the officer's steps) behind it. The tables marked
// `sortable` sort by a click (or Enter) on their column headers, names in Vietnamese order.
(() => {
  const charts = [];
  const colours = { early: "#1d7a3a", on_time: "#5aa469", late: "#a61c1c", overdue: "#8f5500", rate: "#1a4f8b" };

  // A long name (procedures, officers) on at most two lines of about 30 letters, the rest elided;
  // the tooltip and the table below carry it whole.
  function wrapped(label, width = 30) {
    const lines = [""];
    for (const word of String(label).split(" ")) {
      const line = lines[lines.length - 1];
      if (line && (line + " " + word).length > width) lines.push(word);
      else lines[lines.length - 1] = line ? line + " " + word : word;
    }
    return lines.length <= 2 ? lines : [lines[0], lines.slice(1).join(" ").slice(0, width - 1) + "…"];
  }

  function horizontal(canvas, labels, datasets, links, extra = {}) {
    return new Chart(canvas, {
      type: "bar",
      data: { labels: labels.map((label) => wrapped(label)), datasets },
      options: {
        indexAxis: "y", animation: false, maintainAspectRatio: false,
        scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, ...extra.x }, y: { stacked: true } },
        plugins: {
          legend: { display: datasets.length > 1 },
          tooltip: { callbacks: { title: (items) => labels[items[0].dataIndex] } },
        },
        onClick: (_event, elements) => {
          const hit = elements[0];
          const target = hit && links[hit.datasetIndex] && links[hit.datasetIndex][hit.index];
          if (target) window.location.assign(target);
        },
        onHover: (event, elements) => { event.native.target.style.cursor = elements.length ? "pointer" : "default"; },
      },
    });
  }

  function drawMostLate(id, data) {
    const canvas = document.getElementById(id);
    if (!canvas || !data) return;
    charts.push(horizontal(canvas, data.labels, [
      { label: t("Đã giải quyết quá hạn"), data: data.late, backgroundColor: colours.late },
      { label: t("Đang xử lý quá hạn"), data: data.overdue, backgroundColor: colours.overdue },
    ], [data.late_links, data.overdue_links]));
  }

  function draw() {
    charts.splice(0).forEach((chart) => chart.destroy());
    const source = document.getElementById("supervise-chart-data");
    if (!source || typeof Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    if (!data.results) return;
    drawMostLate("chart-late-communes", data.late_communes);
    drawMostLate("chart-late-procedures", data.late_procedures);
    const officers = document.getElementById("chart-officers");
    if (officers && data.officers) {
      charts.push(horizontal(officers, data.officers.labels,
        [{ label: t("Tỷ lệ đúng hạn, phần trăm"), data: data.officers.rates, backgroundColor: colours.rate }],
        [data.officers.links], { x: { max: 100 } }));
    }
    const trend = document.getElementById("chart-trend");
    if (trend && data.trend) {
      charts.push(new Chart(trend, {
        type: "bar",
        data: {
          labels: data.trend.labels,
          datasets: [
            { label: t("Đúng hạn"), data: data.trend.in_time, backgroundColor: colours.on_time, stack: "done" },
            { label: t("Quá hạn"), data: data.trend.late, backgroundColor: colours.late, stack: "done" },
          ],
        },
        options: { animation: false, maintainAspectRatio: false,
                   scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
      }));
    }
    const results = document.getElementById("chart-results");
    if (results) {
      charts.push(new Chart(results, {
        type: "doughnut",
        data: {
          labels: data.results.labels,
          datasets: [{ data: data.results.values, backgroundColor: [colours.early, colours.on_time, colours.late] }],
        },
        options: { animation: false, maintainAspectRatio: false },
      }));
    }
    makeSortable();
  }

  // -- sortable tables ------------------------------------------------------------------------------
  const collator = new Intl.Collator("vi", { numeric: true, sensitivity: "base" });
  const valueOf = (cell) => cell.textContent.trim();
  const asNumber = (text) => {
    const cleaned = text.replace(/\./g, "").replace(",", ".").replace("%", "");
    return cleaned === "" || cleaned === "—" || Number.isNaN(Number(cleaned)) ? -Infinity : Number(cleaned);
  };

  function sortBy(table, column, header) {
    const body = table.tBodies[0];
    const rows = Array.from(body.rows).filter((row) => row.cells.length > 1);
    const numeric = header.classList.contains("num");
    const ascending = header.getAttribute("aria-sort") !== "ascending";
    rows.sort((a, b) => {
      const x = valueOf(a.cells[column]);
      const y = valueOf(b.cells[column]);
      const order = numeric ? asNumber(x) - asNumber(y) : collator.compare(x, y);
      return ascending ? order : -order;
    });
    table.querySelectorAll("thead th").forEach((th) => th.removeAttribute("aria-sort"));
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.forEach((row) => body.appendChild(row));
  }

  function makeSortable() {
    document.querySelectorAll("table.sortable").forEach((table) => {
      table.querySelectorAll("thead th").forEach((header, column) => {
        if (header.querySelector("button.sort")) return;
        const button = document.createElement("button");
        button.type = "button";
        button.className = "sort";
        button.title = t("Sắp xếp theo cột này");
        while (header.firstChild) button.appendChild(header.firstChild);
        header.appendChild(button);
        button.addEventListener("click", () => sortBy(table, column, header));
      });
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
