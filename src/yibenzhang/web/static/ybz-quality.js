/* The quality page's score chart: reads the JSON embedded in the page, draws it with the
   vendored ECharts (no network). One line per dimension plus the overall score. */
(function () {
  "use strict";
  function draw() {
    var box = document.getElementById("quality-chart");
    var src = document.getElementById("quality-history");
    if (!box || !src || typeof echarts === "undefined") { return; }
    var data = JSON.parse(src.textContent);
    var chart = echarts.init(box, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 40, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "category", data: data.labels },
      yAxis: { type: "value", min: 0, max: 100 },
      series: data.series.map(function (s, i) {
        return { name: s.name, type: "line", data: s.data, connectNulls: true, showSymbol: true,
                 lineStyle: { width: i === 0 ? 3 : 1.5 } };
      })
    });
    window.addEventListener("resize", function () { chart.resize(); });
    box.dataset.ready = "1";
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
