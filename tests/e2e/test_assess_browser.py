"""In the browser: the assessment dashboard draws its four ECharts charts (target progress, records
per month, open datasets over time, the region treemap) — each canvas is checked for real drawing
(pixel variance, many colours, a chart instance with data) and differs from an empty chart of the
same size; the treemap's region link drills down; the page is screenshotted."""

from __future__ import annotations

from tests.assess.test_kpis import build_state

from .steps import fill_login, png_is_not_blank

CHARTS = ("chart-targets", "chart-records", "chart-open", "chart-regions")

# Inside the page: statistics of a chart's canvas pixels, its series sizes, and whether it differs
# from an empty ECharts chart of the same size drawn into a detached box.
PROBE = """(id) => {
  const box = document.getElementById(id);
  const canvas = box.querySelector('canvas');
  if (!canvas) { return null; }
  const ctx = canvas.getContext('2d');
  const img = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0, sum2 = 0, n = 0; const colours = new Set();
  for (let i = 0; i < img.length; i += 4 * 7) {
    const v = 0.299 * img[i] + 0.587 * img[i + 1] + 0.114 * img[i + 2];
    sum += v; sum2 += v * v; n += 1; colours.add((img[i] << 16) | (img[i + 1] << 8) | img[i + 2]);
  }
  const mean = sum / n;
  const chart = echarts.getInstanceByDom(box);
  const series = chart.getOption().series.map(s => (s.data || []).length);
  const blank = document.createElement('div');
  blank.style.width = box.clientWidth + 'px'; blank.style.height = box.clientHeight + 'px';
  document.body.appendChild(blank);
  const empty = echarts.init(blank, null, {renderer: 'canvas'});
  empty.setOption({animation: false, series: []});
  const differs = empty.getDataURL() !== chart.getDataURL();
  empty.dispose(); blank.remove();
  return {variance: sum2 / n - mean * mean, colours: colours.size, series, differs,
          ready: box.dataset.ready === '1', width: canvas.width, height: canvas.height};
}"""


def test_dashboard_charts_render(page, e2e_world, tmp_path):
    build_state(e2e_world)
    page.goto("/login?next=/console/assess")
    fill_login(page, "admin")
    page.wait_for_url("**/console/assess")
    for chart in CHARTS:
        page.wait_for_selector(f"#{chart}[data-ready='1'] canvas")
    page.wait_for_timeout(300)  # one frame for ECharts' render after setOption
    for chart in CHARTS:
        stats = page.evaluate(PROBE, chart)
        assert stats is not None and stats["ready"], chart
        assert stats["width"] > 100 and stats["height"] > 100, (chart, stats)
        assert stats["variance"] > 50 and stats["colours"] > 8, (chart, stats)
        assert stats["series"] and stats["series"][0] > 0, (chart, stats)
        assert stats["differs"], (chart, stats)
    shot = tmp_path / "assess.png"
    page.screenshot(path=str(shot), full_page=True)
    assert png_is_not_blank(shot)
    for chart in CHARTS:
        part = tmp_path / f"{chart}.png"
        page.locator(f"#{chart}").screenshot(path=str(part))
        assert png_is_not_blank(part), chart
    # Drill down without the charts: region → org → resource.
    page.click('#region-table a[href="/console/assess?region=990000"]')
    page.wait_for_url("**/console/assess?region=990000")
    page.click("#scorecards tbody tr:first-child td a")
    page.wait_for_url("**/console/assess?org=*")
    assert page.locator("#org-resources tbody tr").count() >= 1
    assert page.locator("#todo-list li").count() >= 1
