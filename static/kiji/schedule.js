/* 「予約投稿」 in words: beside the post form's schedule button, the sentence saying when
   readers will see the post (「2026-12-02 15:00、3時間後に公開されます。」), kept current
   as the publish time is typed. The sentences come translated from the server
   (services.schedule_note_templates), which also says them after the save; the
   interval is worded by the browser (Intl.RelativeTimeFormat), in the page's language. */
"use strict";
(function () {
  const MINUTE = 60 * 1000;
  // As Django's timeuntil() counts, largest first: the first unit that fits is said.
  const UNITS = [
    ["year", 365 * 24 * 60 * MINUTE],
    ["month", 30 * 24 * 60 * MINUTE],
    ["week", 7 * 24 * 60 * MINUTE],
    ["day", 24 * 60 * MINUTE],
    ["hour", 60 * MINUTE],
    ["minute", MINUTE],
  ];

  function pad(number) {
    return String(number).padStart(2, "0");
  }

  /** The moment the two inputs name, in the site's time zone (`offset` minutes east of
      UTC), or null while they do not hold a date and a time. */
  function chosenMoment(day, time, offset) {
    const date = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(day.value.trim());
    const clock = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(time.value.trim());
    if (!date || !clock) {
      return null;
    }
    const utc = Date.UTC(+date[1], +date[2] - 1, +date[3], +clock[1], +clock[2], +(clock[3] || 0));
    return { at: utc - offset * MINUTE, text: `${date[1]}-${pad(date[2])}-${pad(date[3])} ${pad(clock[1])}:${clock[2]}` };
  }

  function inWords(milliseconds, language) {
    // To the nearest minute, as the server rounds (services.relative_time).
    const rounded = Math.round(milliseconds / MINUTE) * MINUTE;
    const [unit, size] = UNITS.find(([, length]) => rounded >= length) || UNITS[UNITS.length - 1];
    return new Intl.RelativeTimeFormat(language, { numeric: "always" }).format(Math.floor(rounded / size), unit);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const note = document.getElementById("kiji-schedule-note");
    const day = document.getElementById("id_published_at_0");
    const time = document.getElementById("id_published_at_1");
    if (!note || !day || !time) {
      return;
    }
    const language = document.documentElement.lang || navigator.language;
    // The server's clock, not this computer's, decides what has passed.
    const skew = Number(note.dataset.now) - Date.now();
    const offset = Number(note.dataset.utcOffset);

    // A time that has passed is pointed out once someone chose one (or sent the form),
    // not on opening a draft, whose time is when it was begun.
    let typed = "typed" in note.dataset;

    function update() {
      const chosen = chosenMoment(day, time, offset);
      const ahead = chosen ? chosen.at - (Date.now() + skew) : 0;
      if (!chosen || (ahead <= -MINUTE && !typed)) {
        note.textContent = "";
        return;
      }
      let sentence = note.dataset.later;
      if (ahead <= -MINUTE) {
        sentence = note.dataset.past;
      } else if (ahead < MINUTE) {
        sentence = note.dataset.soon;
      }
      note.textContent = sentence.replace("{time}", chosen.text).replace("{in}", inWords(ahead, language));
      note.classList.toggle("kiji-schedule-note--past", ahead <= -MINUTE);
    }

    function typedUpdate() {
      typed = true;
      update();
    }

    for (const input of [day, time]) {
      input.addEventListener("input", typedUpdate);
      input.addEventListener("change", typedUpdate);
    }
    // Django's calendar and clock pickers set the value without an input event.
    document.addEventListener("click", function (event) {
      if (event.target.closest(".calendarbox, .clockbox, .datetimeshortcuts")) {
        window.setTimeout(typedUpdate, 0);
      }
    });
    update();
    window.setInterval(update, MINUTE);
  });
})();
