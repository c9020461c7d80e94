/* Share calls per day as stacked bars (share/_usage_chart.html): every element with
   data-usage-chart is drawn by the vendored ECharts from the JSON element it names. A static
   file, so the pages' CSP needs no inline scripts. */
(function () {
  "use strict";
  function draw(box) {
    var src = document.getElementById(box.getAttribute("data-usage-chart"));
    if (!src || typeof echarts === "undefined") { return; }
    var data = JSON.parse(src.textContent);
    var chart = echarts.init(box, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0, type: "scroll" },
      grid: { left: 40, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "category", data: data.days.map(function (d) { return d.slice(5); }) },
      yAxis: { type: "value", minInterval: 1 },
      series: data.series.map(function (s) {
        return { name: s.name, type: "bar", stack: "calls", data: s.data };
      })
    });
    window.addEventListener("resize", function () { chart.resize(); });
    box.dataset.ready = "1";
  }
  window.addEventListener("load", function () {
    document.querySelectorAll("[data-usage-chart]").forEach(draw);
  });
})();
