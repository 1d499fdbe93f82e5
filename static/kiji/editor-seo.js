/* What the post looks like outside its page, as the writer types: the body's length in
   characters (Japanese is counted so, not in words), the title's and description's
   length against what a search result shows, the post's address with an ASCII slug
   suggested for a Japanese title, and previews of a search result and a share card.
   Built on editor.js ("kiji:editor") and editor-preview.js ("kiji:preview"). */
"use strict";
(function () {
  // What Google Japan shows of a title and a description, in full-width characters;
  // a half-width one takes about 32/60 of one (32 full-width or 60 half-width for a title).
  const HALF_WIDTH = 32 / 60;
  const SLUG_DELAY = 400;
  const graphemes = window.Intl && Intl.Segmenter ? new Intl.Segmenter("ja", { granularity: "grapheme" }) : null;
  const number = new Intl.NumberFormat("ja");

  function characters(text) {
    return graphemes ? Array.from(graphemes.segment(text), function (part) { return part.segment; }) : Array.from(text);
  }

  function isHalfWidth(character) {
    const code = character.codePointAt(0);
    return code < 0x1100 || (code >= 0xff61 && code <= 0xffdc) || (code >= 0xffe8 && code <= 0xffee);
  }

  /** `text`'s width in full-width characters. */
  function width(text) {
    return characters(text).reduce(function (sum, character) {
      return sum + (isHalfWidth(character) ? HALF_WIDTH : 1);
    }, 0);
  }

  /** `text` cut, with an ellipsis, where it passes `limit` full-width characters. */
  function truncated(text, limit) {
    let used = 0;
    const kept = [];
    for (const character of characters(text.trim())) {
      used += isHalfWidth(character) ? HALF_WIDTH : 1;
      if (used > limit) {
        return kept.join("").trimEnd() + "…";
      }
      kept.push(character);
    }
    return kept.join("");
  }

  /** The characters a reader reads in a Markdown body: no markup, links' and images'
      addresses, box markers, HTML tags or white space. */
  function bodyCharacters(markdown) {
    const text = markdown
      .replace(/^ {0,3}(`{3,}|~{3,}).*$/gm, "")
      .replace(/!\[[^\]]*\]\([^)]*\)/g, "")
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/\{\{[<%].*?[>%]\}\}/g, "")
      .replace(/<[^>]+>/g, "")
      .replace(/^\s*\|?[\s:|-]*-[\s:|-]*$/gm, "")
      .replace(/^\s*(#{1,6}\s|(>\s?)+|[-*+]\s(\[[ xX]\]\s)?|\d{1,9}[.)]\s)/gm, "")
      .replace(/[*_~`|]/g, "")
      .replace(/\s+/g, "");
    return characters(text).length;
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return name in values ? values[name] : whole;
    });
  }

  /** Show the counter `counter` for `input`, under it. */
  function counter(input, counter) {
    if (!input || !counter) {
      return;
    }
    (input.closest(".flex-container") || input).after(counter);
    input.setAttribute("aria-describedby", ((input.getAttribute("aria-describedby") || "") + " " + counter.id).trim());
    counter.hidden = false;
    const limit = Number(counter.dataset.limit);
    const update = function () {
      const used = width(input.value);
      const over = used > limit;
      counter.textContent = format(counter.dataset.template, { count: number.format(Math.ceil(used)), limit: limit })
        + (over ? " " + counter.dataset.over : "");
      counter.classList.toggle("is-over", over);
    };
    input.addEventListener("input", update);
    update();
  }

  document.addEventListener("kiji:editor", function (event) {
    const { writer, textarea, form } = event.detail;
    const title = form.querySelector("#id_title");
    const slug = form.querySelector("#id_slug");
    const description = form.querySelector("#id_description");
    const cover = form.querySelector("#id_cover");

    const bodyCount = writer.querySelector("#kiji-body-count");
    const countBody = function () {
      bodyCount.textContent = format(bodyCount.dataset.template, { count: number.format(bodyCharacters(textarea.value)) });
    };
    textarea.addEventListener("input", countBody);
    countBody();
    if (title && title.tagName === "TEXTAREA") {
      // A title shown on two lines is still one line: Enter does not break it (an input
      // method's Enter confirms its text), and a pasted break becomes a space.
      title.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && !event.isComposing) {
          event.preventDefault();
        }
      });
      title.addEventListener("input", function () {
        if (/[\r\n]/.test(title.value)) {
          const caret = title.selectionStart;
          title.value = title.value.replace(/\r?\n/g, " ");
          title.setSelectionRange(caret, caret);
        }
      });
    }
    counter(title, document.getElementById("kiji-title-count"));
    counter(description, document.getElementById("kiji-description-count"));

    /* ---- The address */

    const url = document.getElementById("kiji-url");
    const seo = document.querySelector(".kiji-seo");
    const origin = url.dataset.origin;
    const path = function (value) {
      return url.dataset.path.replace("__slug__", value || "…");
    };
    const savedSlug = url.dataset.savedSlug;
    const suggestion = url.querySelector(".kiji-url__suggestion");
    const moved = url.querySelector(".kiji-url__moved");
    let suggested = "";

    function showAddress() {
      url.querySelector(".kiji-url__value").textContent = origin + path(slug.value.trim());
      seo.querySelector(".kiji-serp__url").textContent = origin.replace(/^https?:\/\//, "") + path(slug.value.trim()).replace(/\/$/, "").split("/").join(" › ");
      const movesAway = savedSlug !== "" && slug.value.trim() !== savedSlug;
      moved.hidden = !movesAway;
      moved.classList.toggle("is-live", Boolean(url.dataset.live));
      if (movesAway) {
        const text = format(moved.dataset.template, { old: path(savedSlug) });
        moved.textContent = url.dataset.live ? moved.dataset.live + " " + text : text;
      }
      suggestion.hidden = !suggested || suggested === slug.value.trim();
    }

    if (slug) {
      (slug.closest(".flex-container") || slug).after(url);
      url.hidden = false;
      // A new post's slug follows its title until the writer types one; a saved post's
      // address changes only when the writer says so (the suggestion is a button then).
      let follows = savedSlug === "" && slug.value === "";
      let timer = null;
      let asked = null;
      const setSlug = function (value) {
        slug.value = value;
        // "change" also tells the admin's own slug filling (prepopulate.js) to stop.
        slug.dispatchEvent(new Event("change", { bubbles: true }));
        showAddress();
      };
      const suggest = async function () {
        const text = title.value.trim();
        if (!url.dataset.suggestUrl || !text) {
          return;
        }
        if (asked) {
          asked.abort();
        }
        asked = new AbortController();
        const query = new URLSearchParams({ title: text, post: url.dataset.postId });
        try {
          const response = await fetch(url.dataset.suggestUrl + "?" + query, { credentials: "same-origin", signal: asked.signal });
          if (!response.ok) {
            return;
          }
          suggested = (await response.json()).slug || "";
        } catch (error) {
          return; // superseded, or offline: the slug stays as it is
        }
        url.querySelector(".kiji-url__suggested").textContent = suggested;
        if (follows && suggested) {
          setSlug(suggested);
        } else {
          showAddress();
        }
      };
      title.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(suggest, SLUG_DELAY);
      });
      slug.addEventListener("input", function (event) {
        if (event.isTrusted) {
          follows = false;
        }
        showAddress();
      });
      url.querySelector(".kiji-url__use").addEventListener("click", function () {
        follows = false;
        setSlug(suggested);
        slug.focus();
      });
      // A saved post whose slug is not ASCII gets an offer; a new one, its slug.
      if (follows ? title.value.trim() : /[^\x21-\x7e]/.test(slug.value)) {
        suggest();
      }
      showAddress();
    }

    /* ---- Search result and share card, from the preview's page */

    if (!seo) {
      return;
    }
    const anchor = description ? description.closest(".form-row") : null;
    (anchor || writer).after(seo);
    seo.hidden = false;
    const text = function (selector, value) {
      seo.querySelector(selector).textContent = value;
    };
    document.addEventListener("kiji:preview", function (preview) {
      const page = preview.detail.page;
      const meta = function (selector) {
        const element = page.querySelector(selector);
        return element ? element.getAttribute("content") || "" : "";
      };
      const siteName = meta('meta[property="og:site_name"]');
      const summary = meta('meta[name="description"]');
      text(".kiji-serp__name", siteName);
      text(".kiji-serp__title", truncated(page.title, Number(document.getElementById("kiji-title-count").dataset.limit)));
      text(".kiji-serp__description", truncated(summary, Number(document.getElementById("kiji-description-count").dataset.limit)));
      text(".kiji-share__domain", origin.replace(/^https?:\/\//, ""));
      text(".kiji-share__title", meta('meta[property="og:title"]'));
      text(".kiji-share__description", meta('meta[property="og:description"]'));
      const image = seo.querySelector(".kiji-share__image");
      const source = meta('meta[property="og:image"]');
      image.hidden = !source;
      if (source && image.getAttribute("src") !== source) {
        image.src = source;
      }
    });
    if (cover) {
      cover.addEventListener("change", function () {
        seo.querySelector(".kiji-share__pending").hidden = !cover.files.length;
      });
    }
    if (slug) {
      showAddress();
    }
  });
})();
