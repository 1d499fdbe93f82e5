/* The live preview is the published page: the form's unsaved fields go to the admin's
   "preview changes" view (the render function a save uses; nothing is saved) and the
   page it answers is shown in a frame, with the site's stylesheet and its own scripts
   (copy buttons, the share link, the theme), at a phone's or a desktop's width, a
   moment after the writer stops typing. Built on editor.js ("kiji:editor"); fires
   "kiji:preview" with the page as a Document for editor-seo.js.

   The page goes in as srcdoc: the view's answer may not be framed by URL (it says
   frame-ancestors 'none'), and a srcdoc document takes the admin page's policy, which
   lets in the site's own scripts and styles and nothing else. Two frames take turns:
   the next page loads, hidden, in one while the other is shown, so that an update
   neither flashes blank nor loses the writer's place. */
"use strict";
(function () {
  const DELAY = 600;
  const WIDTHS = { phone: 390, desktop: 1024 };
  const STORED_WIDTH = "kiji-preview-width";

  function stored() {
    try {
      return localStorage.getItem(STORED_WIDTH);
    } catch (error) {
      return null; // storage blocked
    }
  }

  /** What the form would send, without its files: the view takes none, and a cover
      of some megabytes would go up again on every pause. */
  function fields(form) {
    const data = new FormData(form);
    Array.from(data.keys()).forEach(function (name) {
      if (data.getAll(name).some(function (value) { return value instanceof File; })) {
        data.delete(name);
      }
    });
    return data;
  }

  /** Keep the page from taking its frame elsewhere: a reader's page would refuse to be
      framed, and the preview would be gone. Links within the page still scroll. */
  function hold(page) {
    page.addEventListener("click", function (event) {
      const link = event.target.closest && event.target.closest("a[href]");
      if (!link) {
        return;
      }
      event.preventDefault();
      const href = link.getAttribute("href");
      if (href.startsWith("#") && href.length > 1) {
        const target = page.getElementById(decodeURIComponent(href.slice(1)));
        if (target) {
          target.scrollIntoView();
        }
      }
    }, true);
    page.addEventListener("submit", function (event) {
      event.preventDefault(); // the header's search form
    }, true);
  }

  document.addEventListener("kiji:editor", function (event) {
    const { writer, form } = event.detail;
    const section = writer.querySelector(".kiji-preview");
    const viewport = section.querySelector(".kiji-preview__viewport");
    const frames = Array.from(section.querySelectorAll(".kiji-preview__frame"));
    const status = section.querySelector(".kiji-preview__status");
    const widthButtons = Array.from(section.querySelectorAll("[data-width]"));
    // A phone's width unless the writer chose otherwise: most readers come on one.
    let width = stored() === "desktop" ? "desktop" : "phone";
    let shown = null; // the frame on view
    let loading = null; // the frame the next page loads in
    let timer = null;
    let request = null;

    /* The page is laid out at the chosen width and scaled down to the pane when the
       pane is narrower, as a phone or a laptop would show it. */
    function fit() {
      const room = viewport.clientWidth;
      if (!room) {
        return;
      }
      const natural = width === "phone" ? WIDTHS.phone : Math.max(WIDTHS.desktop, room);
      const scale = Math.min(1, room / natural);
      frames.forEach(function (frame) {
        frame.style.width = natural + "px";
        frame.style.height = viewport.clientHeight / scale + "px";
        frame.style.transform = scale < 1 ? "scale(" + scale + ")" : "";
        frame.style.left = Math.max(0, (room - natural * scale) / 2) + "px";
      });
    }

    function setWidth(name) {
      width = name;
      widthButtons.forEach(function (button) {
        button.setAttribute("aria-pressed", String(button.dataset.width === name));
      });
      try {
        localStorage.setItem(STORED_WIDTH, name);
      } catch (error) {
        // Storage blocked: the choice lasts as long as the page.
      }
      section.dataset.width = name;
      fit();
    }

    function show(html) {
      const page = new DOMParser().parseFromString(html, "text/html");
      // Scripts from elsewhere (AdSense's) are refused by the policy the frame takes
      // from the admin; left in, each would log a refusal.
      page.querySelectorAll("script[src]").forEach(function (script) {
        if (new URL(script.getAttribute("src"), location.href).origin !== location.origin) {
          script.remove();
        }
      });
      loading = frames.find(function (frame) { return frame !== shown; });
      loading.srcdoc = "<!doctype html>" + page.documentElement.outerHTML;
      document.dispatchEvent(new CustomEvent("kiji:preview", { detail: { page: page } }));
    }

    function swap(frame) {
      const place = shown && shown.contentWindow ? shown.contentWindow.scrollY : 0;
      hold(frame.contentDocument);
      frame.contentWindow.scrollTo(0, place);
      frames.forEach(function (other) {
        const current = other === frame;
        other.classList.toggle("is-current", current);
        other.inert = !current;
        other.setAttribute("aria-hidden", String(!current));
      });
      shown = frame;
      loading = null;
      section.dataset.loaded = "true";
    }

    async function refresh() {
      if (request) {
        request.abort();
      }
      request = new AbortController();
      status.textContent = status.dataset.updating;
      status.classList.remove("is-error");
      try {
        const response = await fetch(writer.dataset.previewUrl, {
          method: "POST",
          body: fields(form),
          credentials: "same-origin",
          headers: { "X-Requested-With": "XMLHttpRequest" },
          signal: request.signal,
        });
        if (!response.ok) {
          throw new Error(response.status);
        }
        show(await response.text());
        status.textContent = "";
      } catch (error) {
        if (error.name !== "AbortError") {
          status.textContent = status.dataset.failed;
          status.classList.add("is-error");
        }
      }
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(refresh, DELAY);
    }

    frames.forEach(function (frame) {
      frame.inert = true;
      frame.addEventListener("load", function () {
        // An empty frame's first load, or a page superseded before it came, is not shown.
        if (frame === loading && frame.srcdoc && frame.contentDocument) {
          swap(frame);
        }
      });
    });
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    widthButtons.forEach(function (button) {
      button.addEventListener("click", function () {
        setWidth(button.dataset.width);
      });
    });
    writer.addEventListener("kiji:layout", fit);
    new ResizeObserver(fit).observe(viewport);
    setWidth(width);
    refresh();
  });
})();
