/* Images in the body: one dropped or pasted into it, or chosen with the toolbar's
   "Image", first asks for its alternative text (the file name by default; a decorative
   image may have none), then goes to the upload endpoint markdownx uses and is written
   at the caret as ![alt](url). Built on editor.js ("kiji:editor"). */
"use strict";
(function () {
  const ACCEPT = "image/jpeg,image/png,image/gif,image/webp,image/avif";

  function fileStem(name) {
    return name.replace(/\.[^./\\]*$/, "");
  }

  function escapeAlt(text) {
    return text.replace(/\s+/g, " ").replace(/([\\[\]])/g, "\\$1").trim();
  }

  /** The alternative text the writer gives for `file`: a string ("" for decoration
      only), or null when they cancel. */
  function askAlt(dialog, file) {
    const input = dialog.querySelector("#kiji-alt-text");
    const decorative = dialog.querySelector("#kiji-alt-decorative");
    dialog.querySelector(".kiji-alt__file").textContent = file.name;
    input.value = fileStem(file.name);
    input.disabled = decorative.checked = false;
    dialog.returnValue = "";
    return new Promise(function (resolve) {
      dialog.addEventListener("close", function () {
        if (dialog.returnValue !== "insert") {
          resolve(null);
        } else {
          resolve(decorative.checked ? "" : input.value.trim());
        }
      }, { once: true });
      dialog.showModal();
      input.select();
    });
  }

  /** The upload endpoint's answer for `file`: {image_code, and perhaps url and alt}. */
  async function upload(url, form, file, alt) {
    const data = new FormData();
    data.append("image", file);
    // The endpoint may keep it with the image in the media library.
    data.append("alt", alt);
    data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    const response = await fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Requested-With": "XMLHttpRequest" },
    });
    let answer = null;
    try {
      answer = await response.json();
    } catch (error) {
      // Not JSON (a proxy's error page, say): the general message is shown.
    }
    if (!response.ok || !answer || !(answer.url || answer.image_code)) {
      throw answer || {};
    }
    return answer;
  }

  function imageUrl(answer) {
    if (answer.url) {
      return answer.url;
    }
    const match = /\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)\s*$/.exec(answer.image_code);
    return match ? match[1] : "";
  }

  document.addEventListener("kiji:editor", function (event) {
    const { writer, textarea, form, insertBlock } = event.detail;
    const container = textarea.closest(".markdownx") || textarea;
    const dialog = document.querySelector(".kiji-alt");
    const decorative = dialog.querySelector("#kiji-alt-decorative");
    decorative.addEventListener("change", function () {
      dialog.querySelector("#kiji-alt-text").disabled = decorative.checked;
    });

    async function add(files) {
      for (const file of files) {
        const isImage = file.type.startsWith("image/");
        const start = textarea.selectionStart;
        const end = textarea.selectionEnd;
        // Anything else is sent as it is, for the endpoint to say why it refuses it.
        const alt = isImage ? await askAlt(dialog, file) : "";
        // The dialog gives focus back to the body with the caret at its start.
        textarea.focus();
        textarea.setSelectionRange(start, end);
        if (alt === null) {
          continue;
        }
        container.classList.add("is-uploading");
        textarea.setAttribute("aria-busy", "true");
        try {
          const answer = await upload(writer.dataset.uploadUrl, form, file, alt);
          // The library's own text, when it has one and the writer kept the file name.
          const kept = alt === fileStem(file.name) && typeof answer.alt === "string" && answer.alt.trim();
          insertBlock(textarea, "![" + escapeAlt(kept ? answer.alt : alt) + "](" + imageUrl(answer) + ")");
          container.dispatchEvent(new CustomEvent("markdownx.fileUploadEnd", { detail: [answer] }));
        } catch (answer) {
          // admin.js shows the endpoint's message above the field, as for markdownx's uploads.
          const message = answer && answer.error ? answer : { error: writer.dataset.uploadFailed };
          container.dispatchEvent(new CustomEvent("markdownx.fileUploadError", { detail: [message] }));
        } finally {
          container.classList.remove("is-uploading");
          textarea.removeAttribute("aria-busy");
        }
      }
    }

    // In the capture phase on the field's container: before markdownx, which would
    // upload at once, with no alternative text.
    const take = function (transfer, event) {
      const files = transfer ? Array.from(transfer.files) : [];
      if (files.length) {
        event.preventDefault();
        event.stopPropagation();
        add(files);
      }
    };
    container.addEventListener("drop", function (event) {
      take(event.dataTransfer, event);
    }, true);
    container.addEventListener("paste", function (event) {
      take(event.clipboardData, event);
    }, true);

    const picker = document.createElement("input");
    picker.type = "file";
    picker.accept = ACCEPT;
    picker.multiple = true;
    picker.addEventListener("change", function () {
      const files = Array.from(picker.files);
      picker.value = "";
      add(files);
    });
    writer.querySelector('[data-command="image"]').addEventListener("click", function () {
      picker.click();
    });
  });
})();
