// Print buttons (issue 17): any element with data-print opens the browser's print dialog.
// A static file, not an onclick= attribute, so the pages' CSP needs no inline scripts.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) {
    event.preventDefault();
    window.print();
  }
});
