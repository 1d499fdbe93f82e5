/* Kiji's reader-side behaviour: theme switch, copy buttons, back-to-top, ad slots,
   counting views and store clicks. Every feature here is an enhancement: pages read
   the same without JavaScript. */
"use strict";

(function () {
  const root = document.documentElement;
  const THEME_KEY = "kiji-theme";
  const THEMES = ["auto", "light", "dark"];

  function savedTheme() {
    try {
      const theme = localStorage.getItem(THEME_KEY);
      return THEMES.includes(theme) ? theme : "auto";
    } catch (error) {
      return "auto"; // storage blocked (private mode, strict settings)
    }
  }

  function applyTheme(button, theme) {
    if (theme === "auto") {
      delete root.dataset.theme;
    } else {
      root.dataset.theme = theme;
    }
    button.dataset.theme = theme;
    const label = button.dataset["label" + theme.charAt(0).toUpperCase() + theme.slice(1)];
    button.querySelector(".theme-toggle__label").textContent = label;
    button.setAttribute("aria-label", label);
  }

  function setUpThemeToggle() {
    const button = document.querySelector(".theme-toggle");
    if (!button) {
      return;
    }
    applyTheme(button, savedTheme());
    button.hidden = false;
    button.addEventListener("click", function () {
      const next = THEMES[(THEMES.indexOf(button.dataset.theme) + 1) % THEMES.length];
      try {
        if (next === "auto") {
          localStorage.removeItem(THEME_KEY);
        } else {
          localStorage.setItem(THEME_KEY, next);
        }
      } catch (error) {
        // Not remembered, but the switch still works for this page.
      }
      applyTheme(button, next);
    });
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-HTTP sites have no Clipboard API; fall back to a hidden selection.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const copied = document.execCommand("copy");
    area.remove();
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function confirmCopy(button, doneLabel) {
    const label = button.textContent;
    button.textContent = doneLabel;
    button.classList.add("is-done");
    setTimeout(function () {
      button.textContent = label;
      button.classList.remove("is-done");
    }, 2000);
  }

  function setUpCodeCopyButtons() {
    const body = document.body;
    document.querySelectorAll(".post__body pre").forEach(function (pre) {
      const code = pre.querySelector("code") || pre;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "copy-code";
      button.textContent = body.dataset.copyLabel;
      button.addEventListener("click", function () {
        copyText(code.innerText).then(function () {
          confirmCopy(button, body.dataset.copiedLabel);
        });
      });
      const wrapper = document.createElement("div");
      wrapper.className = "code-block";
      pre.replaceWith(wrapper);
      wrapper.append(pre, button);
    });
  }

  function setUpShareCopy() {
    document.querySelectorAll(".share__copy").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        copyText(button.dataset.url).then(function () {
          confirmCopy(button, button.dataset.done);
        });
      });
    });
  }

  function setUpBackToTop() {
    const link = document.querySelector(".to-top");
    if (!link) {
      return;
    }
    const update = function () {
      link.classList.toggle("is-visible", window.scrollY > 600);
    };
    window.addEventListener("scroll", update, { passive: true });
    update();
    link.addEventListener("click", function (event) {
      event.preventDefault();
      window.scrollTo({ top: 0, behavior: "smooth" });
      history.replaceState(null, "", location.pathname + location.search);
    });
  }

  function fillAdSlots() {
    // Each push asks adsbygoogle.js to fill one empty slot; the queue waits for the
    // script (loaded async) if it has not arrived yet.
    document.querySelectorAll("ins.adsbygoogle").forEach(function () {
      (window.adsbygoogle = window.adsbygoogle || []).push({});
    });
  }

  function beacon(url) {
    // sendBeacon outlives the page the reader is leaving; fetch with keepalive where
    // a browser has no beacon. Both POST with no body; Kiji sets readers no cookie.
    if (navigator.sendBeacon) {
      navigator.sendBeacon(url);
    } else if (window.fetch) {
      fetch(url, { method: "POST", keepalive: true, credentials: "omit" });
    }
  }

  function countStoreClicks() {
    // Store links carry ping="…" (clicks.py): browsers that send pings count the click
    // themselves and the link stays the store's own. Where ping is off (Firefox), the
    // same URL goes as a beacon; either way nothing changes where the link goes.
    if ("ping" in HTMLAnchorElement.prototype && !navigator.userAgent.includes("Firefox")) {
      return;
    }
    document.addEventListener("click", function (event) {
      const link = event.target.closest && event.target.closest("a[ping][data-kiji-store]");
      if (link) {
        beacon(link.getAttribute("ping"));
      }
    });
  }

  function countView() {
    // Cached pages count too: the count is the browser's, not the server's.
    // A page the browser prerenders in case it is opened counts once it is.
    const article = document.querySelector("[data-kiji-view]");
    if (!article) {
      return;
    }
    if (document.prerendering) {
      document.addEventListener("prerenderingchange", function () {
        beacon(article.dataset.kijiView);
      }, { once: true });
    } else {
      beacon(article.dataset.kijiView);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpThemeToggle();
    setUpCodeCopyButtons();
    setUpShareCopy();
    setUpBackToTop();
    fillAdSlots();
    countStoreClicks();
    countView();
  });
})();
