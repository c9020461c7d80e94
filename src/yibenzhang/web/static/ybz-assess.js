/* The assessment dashboard's charts: reads the JSON embedded in the page and draws it with the
   vendored ECharts (no network). Tables on the page carry the same figures without JavaScript.
   Each chart box gets data-ready="1" once drawn; clicking a region in the treemap drills down. */
(function () {
  "use strict";
  function box(id) { return document.getElementById(id); }
  function init(id) {
    var el = box(id);
    if (!el) { return null; }
    return { el: el, chart: echarts.init(el, null, { renderer: "canvas" }) };
  }
  function done(c) {
    window.addEventListener("resize", function () { c.chart.resize(); });
    c.el.dataset.ready = "1";
  }
  function draw() {
    var src = box("assess-data");
    if (!src || typeof echarts === "undefined") { return; }
    var d = JSON.parse(src.textContent);
    var c = init("chart-targets");
    if (c) {
      c.chart.setOption({
        animation: false,
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v.toFixed(2) + "%"; } },
        grid: { left: 200, right: 40, top: 20, bottom: 30 },
        xAxis: { type: "value", name: d.labels.progress, axisLabel: { formatter: "{value}%" } },
        yAxis: { type: "category", data: d.targets.map(function (t) { return t.name; }) },
        series: [{ type: "bar", name: d.labels.progress, barMaxWidth: 24,
                   data: d.targets.map(function (t) { return t.progress == null ? 0 : Math.min(t.progress * 100, 100); }),
                   markLine: { silent: true, symbol: "none", data: [{ xAxis: 100 }] } }]
      });
      done(c);
    }
    c = init("chart-records");
    if (c) {
      c.chart.setOption({
        animation: false, title: { text: d.labels.records, left: "center", textStyle: { fontSize: 13 } },
        tooltip: { trigger: "axis" }, grid: { left: 70, right: 20, top: 40, bottom: 30 },
        xAxis: { type: "category", data: d.records.map(function (m) { return m.month; }) },
        yAxis: { type: "value" },
        series: [{ type: "bar", name: d.labels.records, data: d.records.map(function (m) { return m.rows; }) }]
      });
      done(c);
    }
    c = init("chart-open");
    if (c) {
      c.chart.setOption({
        animation: false, title: { text: d.labels.open, left: "center", textStyle: { fontSize: 13 } },
        tooltip: { trigger: "axis" }, grid: { left: 70, right: 20, top: 40, bottom: 30 },
        xAxis: { type: "category", data: d.open.map(function (m) { return m.month; }) },
        yAxis: { type: "value" },
        series: [{ type: "line", name: d.labels.open, areaStyle: {}, showSymbol: true,
                   data: d.open.map(function (m) { return m.open_datasets; }) }]
      });
      done(c);
    }
    c = init("chart-regions");
    if (c) {
      c.chart.setOption({
        animation: false,
        tooltip: { formatter: function (p) {
          return p.name + "<br>" + d.labels.resources + ": " + p.value +
            (p.data && p.data.records != null ? "<br>" + d.labels.records + ": " + p.data.records.toLocaleString() : "");
        } },
        series: [{ type: "treemap", name: d.labels.resources, data: d.regions, leafDepth: 2, roam: false,
                   breadcrumb: { show: true }, label: { show: true, formatter: "{b}" },
                   upperLabel: { show: true, height: 22 },
                   levels: [{ itemStyle: { borderWidth: 2, gapWidth: 2 } }, { itemStyle: { gapWidth: 1 } }] }]
      });
      c.chart.on("dblclick", function (p) {
        if (p.data && p.data.code) { window.location.href = "/console/assess?region=" + encodeURIComponent(p.data.code); }
      });
      done(c);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
