/* The console's lineage graph (lineage/resource.html): drawn by the vendored ECharts from the
   JSON element the chart names — a static file, so the CSP needs no inline script. Upstream on
   the left, the resource in the middle, consumers, sandbox runs and products to the right. */
(function () {
  "use strict";
  var COLUMN = [0, 1, 2, 2, 2, 3];  // source, resource, consumer, open, sandbox, product
  function draw(box) {
    var src = document.getElementById(box.getAttribute("data-lineage-chart"));
    if (!src || typeof echarts === "undefined") { return; }
    var data = JSON.parse(src.textContent);
    var rows = {};
    var nodes = data.nodes.map(function (n) {
      var col = COLUMN[n.category] || 0;
      rows[col] = (rows[col] || 0) + 1;
      return { id: n.id, name: n.name, category: n.category, x: col * 260, y: rows[col] * 70,
               symbolSize: n.category === 1 ? 56 : 36, label: { show: true } };
    });
    var chart = echarts.init(box, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: {},
      legend: { top: 0, data: data.categories },
      series: [{
        type: "graph", layout: "none", roam: true, top: 40,
        categories: data.categories.map(function (name) { return { name: name }; }),
        data: nodes,
        links: data.links.map(function (l) {
          return { source: l.source, target: l.target, label: { show: !!l.label, formatter: l.label } };
        }),
        edgeSymbol: ["none", "arrow"], edgeLabel: { fontSize: 11 },
        lineStyle: { width: 1.5, curveness: 0.1 }
      }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
    box.dataset.ready = String(nodes.length);
  }
  window.addEventListener("load", function () {
    document.querySelectorAll("[data-lineage-chart]").forEach(draw);
  });
})();
