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
