/* The open dataset page's chart (portal/dataset.html): counts by a column, drawn by the vendored
   ECharts from the JSON in #dataset-chart-data. A static file, so the CSP needs no inline scripts. */
window.addEventListener("load", function () {
  "use strict";
  var box = document.getElementById("dataset-chart"), src = document.getElementById("dataset-chart-data");
  if (!box || !src || typeof echarts === "undefined") { return; }
  var data = JSON.parse(src.textContent), chart = echarts.init(box, null, { renderer: "canvas" });
  chart.setOption({ animation: false, tooltip: { trigger: "axis" }, grid: { left: 50, right: 20, top: 20, bottom: 40 },
    xAxis: { type: "category", data: data.labels }, yAxis: { type: "value", minInterval: 1 },
    series: [{ type: data.kind === "year" ? "line" : "bar", data: data.values }] });
  window.addEventListener("resize", function () { chart.resize(); });
  box.dataset.ready = "1";
});
