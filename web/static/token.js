// Removes a one-time token from the address bar and the history once the page has it in its
// form, so it is not left in the history, in bookmarks or in a copied address.
"use strict";
(function () {
  if (window.location.search.indexOf("token=") < 0 || !window.history.replaceState) { return; }
  window.history.replaceState(null, "", window.location.pathname);
})();
