/* Kiji's writing desk around markdownx's body field: a toolbar and shortcuts that edit
   the text through one function (so that undo, markdownx, autosave and the preview
   follow), a Tab key that indents only in lists and code blocks, and a focus mode.

   The markup is templates/admin/posts/post/_editor.html. When it is in place this
   file fires "kiji:editor" on the document, with {writer, textarea, form} and the
   editing functions, for editor-media.js (images), editor-preview.js (the live page)
   and editor-seo.js (counts, address, search and share previews). docs/editor.md
   tells writers what each key does. */
"use strict";
(function () {
  const FENCE = /^ {0,3}(`{3,}|~{3,})/;
  const LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])(\s+)/;
  const HEADING = /^#{1,6}\s+/;
  const CODE_INDENT = "    ";
  const WIDE = window.matchMedia("(min-width: 1024px)");

  /* ---- Editing: every change to the text goes through edit(). */

  /** Replace [start, end) of the text with `text`, then select [selectStart, selectEnd)
      (by default, put the caret after the new text). */
  function edit(textarea, start, end, text, selectStart, selectEnd) {
    textarea.focus();
    textarea.setSelectionRange(start, end);
    // insertText keeps the field's undo history and fires "input" by itself; only
    // execCommand does that for a textarea. Deleting with it needs "delete".
    const done = text === "" ? start === end || document.execCommand("delete") : document.execCommand("insertText", false, text);
    if (!done) {
      textarea.setRangeText(text, start, end);
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
    }
    const caret = start + text.length;
    const from = selectStart === undefined ? caret : selectStart;
    textarea.setSelectionRange(from, selectEnd === undefined ? from : selectEnd);
  }

  /** The whole lines that [start, end) touches, as [from, to). */
  function lineRange(value, start, end) {
    const from = value.lastIndexOf("\n", start - 1) + 1;
    const last = end > start && value[end - 1] === "\n" ? end - 1 : end;
    const to = value.indexOf("\n", last);
    return [from, to === -1 ? value.length : to];
  }

  /** Put `text` on lines of its own at the caret, with a blank line around it; select
      [selectStart, selectEnd) of `text` (by default, put the caret after it). */
  function insertBlock(textarea, text, selectStart, selectEnd) {
    const { value, selectionStart: start, selectionEnd: end } = textarea;
    const before = value.slice(0, start);
    const after = value.slice(end);
    const lead = before === "" || before.endsWith("\n\n") ? "" : before.endsWith("\n") ? "\n" : "\n\n";
    const trail = after.startsWith("\n\n") ? "" : after.startsWith("\n") ? "\n" : "\n\n";
    const offset = start + lead.length;
    const from = selectStart === undefined ? text.length : selectStart;
    const to = selectEnd === undefined ? from : selectEnd;
    edit(textarea, start, end, lead + text + trail, offset + from, offset + to);
  }

  /** Wrap the selection in `marker` (** for bold), or unwrap it if it is wrapped. */
  function wrap(textarea, marker, placeholder) {
    const value = textarea.value;
    let start = textarea.selectionStart;
    let end = textarea.selectionEnd;
    // "** word **" would not be bold: the markers go inside the spaces.
    while (start < end && /\s/.test(value[start])) start++;
    while (end > start && /\s/.test(value[end - 1])) end--;
    const run = function (from, step) {
      let count = 0;
      while (value[from + count * step] === marker[0]) count++;
      return count;
    };
    const before = run(start - 1, -1);
    const after = run(end, 1);
    // Wrapped when the runs are exactly the marker, or three (bold and italic at once).
    const wrapped = (before === marker.length || before >= 3) && (after === marker.length || after >= 3);
    if (wrapped) {
      const n = marker.length;
      edit(textarea, start - n, end + n, value.slice(start, end), start - n, end - n);
      return;
    }
    const inner = value.slice(start, end) || placeholder;
    const at = start + marker.length;
    edit(textarea, start, end, marker + inner + marker, at, at + inner.length);
  }

  function link(textarea, placeholder) {
    const { value, selectionStart: start, selectionEnd: end } = textarea;
    const selected = value.slice(start, end).trim();
    if (/^https?:\/\/\S+$/.test(selected)) {
      edit(textarea, start, end, "[" + placeholder + "](" + selected + ")", start + 1, start + 1 + placeholder.length);
      return;
    }
    const text = selected || placeholder;
    const url = start + text.length + 3; // after "[text]("
    edit(textarea, start, end, "[" + text + "](https://)", url, url + "https://".length);
  }

  /** Rewrite each selected line with `change(line, index, lines)`; keep the selection
      over the same text. */
  function changeLines(textarea, change) {
    const { value, selectionStart: start, selectionEnd: end } = textarea;
    const [from, to] = lineRange(value, start, end);
    const lines = value.slice(from, to).split("\n");
    const changed = lines.map(change);
    const firstShift = changed[0].length - lines[0].length;
    const text = changed.join("\n");
    const selectStart = Math.max(from, start + firstShift);
    edit(textarea, from, to, text, selectStart, start === end ? selectStart : Math.max(selectStart, end + text.length - (to - from)));
  }

  function heading(textarea, level) {
    const mark = "#".repeat(level) + " ";
    changeLines(textarea, function (line) {
      const bare = line.replace(HEADING, "");
      return line.startsWith(mark) ? bare : mark + bare;
    });
  }

  /** Toggle a line prefix ("- ", "1. ", "> ") on the selected lines; a list prefix
      takes the place of another list's ("- " becomes "1. "). */
  function prefixLines(textarea, prefixFor, pattern, isList) {
    const { value, selectionStart, selectionEnd } = textarea;
    const [from, to] = lineRange(value, selectionStart, selectionEnd);
    const lines = value.slice(from, to).split("\n");
    const filled = lines.filter(function (line) {
      return line.trim() !== "";
    });
    const all = filled.length > 0 && filled.every(function (line) {
      return pattern.test(line);
    });
    let number = 0;
    changeLines(textarea, function (line) {
      if (all) {
        return line.replace(pattern, "$1");
      }
      if (line.trim() === "" && lines.length > 1) {
        return line;
      }
      number += 1;
      const item = isList && LIST_ITEM.exec(line);
      return item ? item[1] + prefixFor(number) + line.slice(item[0].length) : prefixFor(number) + line;
    });
  }

  function codeBlock(textarea) {
    const { value, selectionStart: start, selectionEnd: end } = textarea;
    if (start === end) {
      insertBlock(textarea, "```\n\n```", 3);
      return;
    }
    const [from, to] = lineRange(value, start, end);
    textarea.setSelectionRange(from, to);
    insertBlock(textarea, "```\n" + value.slice(from, to) + "\n```", 3);
  }

  function table(textarea, header, cell) {
    const row = function (text) {
      return "| " + text + " 1 | " + text + " 2 |";
    };
    const text = [row(header), "| --- | --- |", row(cell), row(cell)].join("\n");
    insertBlock(textarea, text, 2, 2 + header.length + 2);
  }

  /** Indent (or outdent) the selected lines by their list marker's width, or by four
      spaces in code. */
  function indent(textarea, outdent) {
    changeLines(textarea, function (line) {
      const item = LIST_ITEM.exec(line);
      const unit = item ? item[2].length + 1 : CODE_INDENT.length;
      if (!outdent) {
        return line === "" ? line : " ".repeat(unit) + line;
      }
      if (line.startsWith("\t")) {
        return line.slice(1);
      }
      const spaces = /^ */.exec(line)[0].length;
      return line.slice(Math.min(spaces, unit));
    });
  }

  function duplicate(textarea) {
    const { value, selectionStart: start, selectionEnd: end } = textarea;
    if (start !== end) {
      edit(textarea, end, end, value.slice(start, end), end, end + (end - start));
      return;
    }
    const [from, to] = lineRange(value, start, end);
    const line = value.slice(from, to);
    edit(textarea, to, to, "\n" + line, start + line.length + 1);
  }

  /** Where the caret is for the Tab key: "code" inside a fenced block, "list" on a
      list item's line, null elsewhere. */
  function tabContext(textarea) {
    const value = textarea.value;
    const lineStart = value.lastIndexOf("\n", textarea.selectionStart - 1) + 1;
    let fence = null;
    value.slice(0, lineStart).split("\n").forEach(function (line) {
      const match = FENCE.exec(line);
      if (!match) {
        return;
      }
      if (fence === null) {
        fence = match[1];
      } else if (match[1][0] === fence[0] && match[1].length >= fence.length && line.trim() === match[1]) {
        fence = null;
      }
    });
    if (fence !== null) {
      return "code";
    }
    const [, lineEnd] = lineRange(value, lineStart, lineStart);
    return LIST_ITEM.test(value.slice(lineStart, lineEnd)) ? "list" : null;
  }

  /* ---- Keys */

  const CODES = { ".": "Period", "[": "BracketLeft", "]": "BracketRight" };

  /** Whether `event` is one of the shortcuts of an aria-keyshortcuts value. */
  function matches(event, shortcuts) {
    return shortcuts.split(" ").some(function (shortcut) {
      const keys = shortcut.split("+");
      const key = keys.pop();
      const wanted = function (modifier) {
        return keys.indexOf(modifier) !== -1;
      };
      if (event.ctrlKey !== wanted("Control") || event.metaKey !== wanted("Meta")) {
        return false;
      }
      if (event.altKey !== wanted("Alt") || event.shiftKey !== wanted("Shift")) {
        return false;
      }
      // By the key's place for digits and punctuation, which Shift and Alt change.
      const code = CODES[key] || (/^\d$/.test(key) ? "Digit" + key : "Key" + key.toUpperCase());
      return event.code === code || event.key.toUpperCase() === key.toUpperCase();
    });
  }

  function setUp(writer, textarea) {
    const form = textarea.form;
    const container = textarea.closest(".markdownx") || textarea;
    const toolbar = writer.querySelector(".kiji-toolbar");
    const buttons = Array.from(toolbar.querySelectorAll("button"));
    const button = function (command) {
      return toolbar.querySelector('[data-command="' + command + '"]');
    };

    // The body field's label goes above the desk, which takes the row's width.
    const row = container.closest(".flex-container") || container.parentElement;
    row.classList.add("kiji-writer-row");
    container.before(writer);
    writer.querySelector(".kiji-writer__panes").prepend(container);
    const boxInsert = document.querySelector(".kiji-box-insert");
    if (boxInsert) {
      toolbar.after(boxInsert);
    }
    textarea.setAttribute("aria-describedby", ((textarea.getAttribute("aria-describedby") || "") + " kiji-body-count").trim());
    writer.hidden = false;

    function setPreview(on) {
      writer.classList.toggle("is-previewing", on);
      button("preview").setAttribute("aria-pressed", String(on));
      writer.dispatchEvent(new CustomEvent("kiji:layout"));
    }

    let previewBeforeFocus = null;
    function setFocusMode(on) {
      if (on === writer.classList.contains("is-focused")) {
        return;
      }
      writer.classList.toggle("is-focused", on);
      document.documentElement.classList.toggle("kiji-focus-mode", on);
      button("focus").setAttribute("aria-pressed", String(on));
      // The preview steps aside while writing without distraction, and comes back after.
      if (on) {
        previewBeforeFocus = writer.classList.contains("is-previewing");
        setPreview(false);
      } else {
        setPreview(previewBeforeFocus);
      }
      textarea.focus();
    }

    const commands = {
      bold: function (b) { wrap(textarea, "**", b.dataset.placeholder); },
      italic: function (b) { wrap(textarea, "*", b.dataset.placeholder); },
      code: function (b) { wrap(textarea, "`", b.dataset.placeholder); },
      link: function (b) { link(textarea, b.dataset.placeholder); },
      heading2: function () { heading(textarea, 2); },
      heading3: function () { heading(textarea, 3); },
      bullets: function () { prefixLines(textarea, function () { return "- "; }, /^(\s*)[-*+]\s+/, true); },
      numbers: function () { prefixLines(textarea, function (n) { return n + ". "; }, /^(\s*)\d{1,9}[.)]\s+/, true); },
      quote: function () { prefixLines(textarea, function () { return "> "; }, /^(\s*)>\s?/, false); },
      codeblock: function () { codeBlock(textarea); },
      table: function (b) { table(textarea, b.dataset.header, b.dataset.cell); },
      box: function () {
        // The "Insert box" control (admin.js) knows the product registry.
        const key = document.getElementById("kiji-box-key");
        if (key && boxInsert && !boxInsert.hidden) {
          key.focus();
          return;
        }
        const keyword = writer.dataset.boxKeyword;
        const marker = '{{< affiliate "' + keyword + '" >}}';
        const at = marker.indexOf('"') + 1;
        insertBlock(textarea, marker, at, at + keyword.length);
      },
      preview: function () { setPreview(!writer.classList.contains("is-previewing")); },
      focus: function () { setFocusMode(!writer.classList.contains("is-focused")); },
    };

    toolbar.addEventListener("click", function (event) {
      const target = event.target.closest("[data-command]");
      if (target && commands[target.dataset.command]) {
        commands[target.dataset.command](target);
      }
    });

    // A toolbar is one stop for Tab; the arrow keys move along it (WAI-ARIA's toolbar pattern).
    buttons.forEach(function (b, index) {
      b.tabIndex = index === 0 ? 0 : -1;
    });
    toolbar.addEventListener("keydown", function (event) {
      const index = buttons.indexOf(event.target);
      const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: buttons.length - 1 };
      if (index === -1 || !(event.key in moves)) {
        return;
      }
      event.preventDefault();
      const next = buttons[(moves[event.key] + buttons.length) % buttons.length];
      buttons.forEach(function (b) {
        b.tabIndex = b === next ? 0 : -1;
      });
      next.focus();
    });

    const shortcuts = buttons.filter(function (b) {
      return b.hasAttribute("aria-keyshortcuts");
    });
    const keys = [
      ["Control+] Meta+]", function () { indent(textarea, false); }],
      ["Control+[ Meta+[", function () { indent(textarea, true); }],
      ["Control+D Meta+D", function () { duplicate(textarea); }],
    ];
    let escaped = false; // Esc was the last key: Tab then leaves the field, wherever the caret is.

    // On the field's container and in the capture phase, so that this runs before
    // markdownx's own handler, which would keep Tab in the field for ever.
    container.addEventListener("keydown", function (event) {
      if (event.target !== textarea || event.isComposing || event.keyCode === 229) {
        return; // an input method is composing Japanese: its keys are its own
      }
      if (event.key === "Tab") {
        event.stopPropagation();
        const context = escaped || event.ctrlKey || event.altKey || event.metaKey ? null : tabContext(textarea);
        escaped = false;
        if (context === "code" && !event.shiftKey && textarea.selectionStart === textarea.selectionEnd) {
          event.preventDefault();
          edit(textarea, textarea.selectionStart, textarea.selectionEnd, CODE_INDENT);
        } else if (context) {
          event.preventDefault();
          indent(textarea, event.shiftKey);
        }
        return;
      }
      if (event.key === "Escape") {
        escaped = true;
        setFocusMode(false);
        return;
      }
      if (["Shift", "Control", "Alt", "Meta"].indexOf(event.key) === -1) {
        escaped = false;
      }
      const tool = shortcuts.find(function (b) {
        return matches(event, b.getAttribute("aria-keyshortcuts"));
      });
      const key = keys.find(function (pair) {
        return matches(event, pair[0]);
      });
      if (tool || key) {
        event.preventDefault();
        event.stopPropagation();
        tool ? commands[tool.dataset.command](tool) : key[1]();
      }
    }, true);
    textarea.addEventListener("blur", function () {
      escaped = false;
    });
    writer.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && event.target !== textarea && !event.target.closest("[popover]")) {
        setFocusMode(false);
      }
    });

    setPreview(WIDE.matches);
    document.dispatchEvent(new CustomEvent("kiji:editor", {
      detail: { writer: writer, textarea: textarea, form: form, edit: edit, insertBlock: insertBlock },
    }));
  }

  document.addEventListener("DOMContentLoaded", function () {
    const writer = document.querySelector(".kiji-writer");
    const textarea = document.querySelector("textarea#id_body");
    if (writer && textarea && textarea.form) {
      setUp(writer, textarea);
    }
  });
})();
