// The print view opens the browser's print dialog by itself; ?noprint=1 turns that off (tests).
window.addEventListener("load", function () {
  if (!new URLSearchParams(location.search).has("noprint")) window.print();
});
