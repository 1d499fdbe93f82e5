/* Applies a saved theme before the first paint. base.html loads this file in <head>
   without defer or async, so it runs before the body is parsed and the page never
   shows the other theme first; kiji.js adds the switch. */
"use strict";
(function () {
  try {
    const theme = localStorage.getItem("kiji-theme");
    if (theme === "light" || theme === "dark") {
      document.documentElement.dataset.theme = theme;
    }
  } catch (error) {
    // Storage blocked (private mode, strict settings): the system's scheme applies.
  }
})();
