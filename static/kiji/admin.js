/* Kiji's editor helpers: a clear message when an image upload is refused. */
"use strict";
(function () {
  // markdownx writes "Invalid response" into the text when an upload fails; take it
  // out again and say what was wrong instead.
  const MARKDOWNX_ERROR_TEXT = "Invalid response";

  function showUploadError(container, message) {
    let box = container.querySelector(".kiji-upload-error");
    if (!box) {
      box = document.createElement("p");
      box.className = "kiji-upload-error";
      box.setAttribute("role", "alert");
      container.prepend(box);
    }
    box.textContent = message;
  }

  function onUploadError(event) {
    const container = event.currentTarget;
    const editor = container.querySelector("textarea");
    if (editor) {
      // markdownx inserts its text right after this event fires.
      setTimeout(function () {
        editor.value = editor.value.replace(MARKDOWNX_ERROR_TEXT, "");
      });
    }
    let message = "The image could not be uploaded.";
    try {
      const detail = event.detail && event.detail[0];
      const response = typeof detail === "string" ? JSON.parse(detail) : detail;
      if (response && response.error) {
        message = response.error;
      }
    } catch (error) {
      // Not JSON (a proxy's error page, say): keep the general message.
    }
    showUploadError(container, message);
  }

  function onUploadEnd(event) {
    const box = event.currentTarget.querySelector(".kiji-upload-error");
    if (box) {
      box.remove();
    }
  }

  // markdownx's events do not bubble, so listen on each editor.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".markdownx").forEach(function (container) {
      container.addEventListener("markdownx.fileUploadError", onUploadError);
      container.addEventListener("markdownx.fileUploadEnd", onUploadEnd);
    });
  });
})();

/* Kiji's editor autosave: the post form's text is kept in this browser while it is
   typed, so that a closed tab or a crash loses nothing. The copy is offered back when
   the form is opened again with different text, and dropped once the post is saved. */
(function () {
  const FIELDS = ["title", "body", "description"];
  const SUBMITTED = "kiji-autosave-submitted";

  function fields(form) {
    return FIELDS.map(function (name) {
      return form.querySelector('[name="' + name + '"]');
    }).filter(Boolean);
  }

  function read(key) {
    try {
      return JSON.parse(localStorage.getItem(key) || "null");
    } catch (error) {
      return null;
    }
  }

  function differs(saved, inputs) {
    return inputs.some(function (input) {
      return saved.values[input.name] !== undefined && saved.values[input.name] !== input.value;
    });
  }

  function offer(form, key, saved, inputs) {
    const notice = form.querySelector(".kiji-autosave");
    if (!notice) {
      return;
    }
    const time = new Date(saved.at).toLocaleString();
    const text = document.createElement("span");
    text.textContent = notice.dataset.message.replace("{time}", time);
    const restore = document.createElement("button");
    restore.type = "button";
    restore.className = "button";
    restore.textContent = notice.dataset.restoreLabel;
    const discard = document.createElement("button");
    discard.type = "button";
    discard.className = "button";
    discard.textContent = notice.dataset.discardLabel;
    notice.replaceChildren(text, restore, discard);
    notice.hidden = false;
    restore.addEventListener("click", function () {
      inputs.forEach(function (input) {
        if (saved.values[input.name] !== undefined) {
          input.value = saved.values[input.name];
          // markdownx refreshes its preview on input.
          input.dispatchEvent(new Event("input", { bubbles: true }));
        }
      });
      notice.hidden = true;
    });
    discard.addEventListener("click", function () {
      localStorage.removeItem(key);
      notice.hidden = true;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const form = document.getElementById("post_form");
    if (!form || !window.localStorage) {
      return;
    }
    const key = "kiji-autosave:" + location.pathname;
    const inputs = fields(form);
    const savedMessage = document.querySelector(".messagelist .success");
    if (savedMessage && sessionStorage.getItem(SUBMITTED)) {
      localStorage.removeItem(sessionStorage.getItem(SUBMITTED));
    }
    sessionStorage.removeItem(SUBMITTED);

    const saved = read(key);
    if (saved && saved.values) {
      if (differs(saved, inputs)) {
        offer(form, key, saved, inputs);
      } else {
        localStorage.removeItem(key);
      }
    }

    let timer = null;
    const keep = function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        const values = {};
        inputs.forEach(function (input) {
          values[input.name] = input.value;
        });
        try {
          localStorage.setItem(key, JSON.stringify({ at: Date.now(), values: values }));
        } catch (error) {
          // Storage full or blocked: the form still works, only without the copy.
        }
      }, 800);
    };
    inputs.forEach(function (input) {
      input.addEventListener("input", keep);
    });
    form.addEventListener("submit", function (event) {
      // Only a real save may drop the copy, and only once it has worked (see above).
      const button = event.submitter;
      if (!button || !button.hasAttribute("formaction")) {
        sessionStorage.setItem(SUBMITTED, key);
      }
    });
  });
})();

/* The media library's copy buttons: an image's Markdown onto the clipboard, to paste
   into another post. */
(function () {
  document.addEventListener("click", function (event) {
    const button = event.target.closest(".kiji-copy__button");
    if (!button) {
      return;
    }
    const code = button.parentElement.querySelector(".kiji-copy__code");
    code.select();
    const copied = function () {
      button.textContent = button.dataset.copied;
    };
    // The Clipboard API needs HTTPS; on plain HTTP the selected text is copied the old way.
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(code.value).then(copied);
    } else if (document.execCommand("copy")) {
      copied();
    }
  });
})();

/* "Insert box": a box marker on a line of its own at the cursor, {{< product slug >}}
   for a product of the registry (the list offers them) or {{< affiliate "keyword" >}}
   for anything else; the live preview shows the box at once. */
(function () {
  function marker(value, products) {
    const key = value.replace(/["\n\r]/g, " ").trim();
    if (!key) {
      return "";
    }
    return products.has(key) ? "{{< product " + key + " >}}" : '{{< affiliate "' + key + '" >}}';
  }

  function insertLine(editor, line) {
    const before = editor.value.slice(0, editor.selectionStart);
    const after = editor.value.slice(editor.selectionEnd);
    const lead = before === "" || before.endsWith("\n\n") ? "" : before.endsWith("\n") ? "\n" : "\n\n";
    const trail = after.startsWith("\n\n") ? "" : after.startsWith("\n") ? "\n" : "\n\n";
    editor.value = before + lead + line + trail + after;
    const caret = (before + lead + line + trail).length;
    editor.setSelectionRange(caret, caret);
    editor.focus();
    editor.dispatchEvent(new Event("input", { bubbles: true })); // the preview and autosave follow
  }

  document.addEventListener("DOMContentLoaded", function () {
    const tools = document.querySelector(".kiji-box-insert");
    const editor = document.getElementById("id_body");
    if (!tools || !editor) {
      return;
    }
    const products = new Set(Array.from(tools.querySelectorAll("datalist option"), function (option) {
      return option.value;
    }));
    (editor.closest(".markdownx") || editor).before(tools);
    tools.hidden = false;
    const input = tools.querySelector("input");
    const insert = function () {
      const line = marker(input.value, products);
      if (line) {
        insertLine(editor, line);
        input.value = "";
      } else {
        input.focus();
      }
    };
    tools.querySelector("button").addEventListener("click", insert);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault(); // not the form's submit
        insert();
      }
    });
  });
})();
