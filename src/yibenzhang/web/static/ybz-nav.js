/* The navigation collapses behind a 菜单 button on narrow screens (CSS decides when). Without
   JavaScript the button stays hidden and the navigation stays open. */
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button.nav-toggle[aria-controls]").forEach(function (button) {
    var nav = document.getElementById(button.getAttribute("aria-controls"));
    if (!nav) { return; }
    nav.classList.add("collapsible");
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("open", open);
    });
  });
});

/* “返回上一页” on error pages: back in history when there is one (without JavaScript, or opened
   directly, the link leads home). Here rather than in a javascript: URL, which the CSP refuses. */
document.addEventListener("click", function (event) {
  var link = event.target.closest("a[data-back]");
  if (link && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});
