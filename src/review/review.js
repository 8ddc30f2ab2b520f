// tarjama review page: saves every edit as it is made, shows the term check
// the server answers with, and lets the keyboard move between rows.
// Served from the binary; talks only to the server that served it.
"use strict";
(function () {
  const body = document.body;
  const base = body.dataset.base;
  const root = body.dataset.root;
  const notice = document.getElementById("notice");
  const rows = Array.from(document.querySelectorAll(".row"));
  const pending = new Map(); // row id -> timer of a save while typing
  let current = null;

  function say(text, bad) {
    if (!notice) return;
    notice.textContent = text;
    notice.classList.toggle("bad", !!bad);
  }

  async function call(method, url, data) {
    const res = await fetch(url, {
      method,
      headers: data === undefined ? {} : { "content-type": "application/json" },
      body: data === undefined ? undefined : JSON.stringify(data),
      cache: "no-store",
      credentials: "same-origin",
    });
    const type = res.headers.get("content-type") || "";
    const answer = type.includes("json") ? await res.json() : null;
    if (!res.ok) {
      throw new Error((answer && answer.error) || res.status + " " + res.statusText);
    }
    return answer;
  }

  // The parts of a row the server made (escaped there) go back in place.
  function apply(row, parts, keepText) {
    row.dataset.rev = String(parts.rev);
    row.classList.toggle("flagged", parts.flagged);
    row.classList.remove("status-draft", "status-edited", "status-accepted");
    row.classList.add("status-" + parts.status);
    row.querySelector(".ar").innerHTML = parts.ar;
    row.querySelector(".preview").innerHTML = parts.preview;
    row.querySelector(".info").innerHTML = parts.info;
    row.querySelector(".notes").innerHTML = parts.notes;
    const box = row.querySelector("textarea");
    if (!keepText) {
      box.value = parts.text;
      box.dataset.saved = parts.text;
    }
  }

  function progress(text) {
    const p = document.getElementById("progress");
    if (p && text) p.textContent = text;
  }

  async function save(row, opts) {
    const id = row.dataset.id;
    clearTimeout(pending.get(id));
    pending.delete(id);
    const box = row.querySelector("textarea");
    const text = box.value;
    const mark = row.querySelector(".saved");
    try {
      const answer = await call("PUT", base + "/seg/" + encodeURIComponent(id), {
        text,
        rev: Number(row.dataset.rev),
        accept: !!opts.accept,
        commit: !!opts.commit,
      });
      // Typing since the request left: keep the newer text.
      apply(row, answer.row, box.value !== text);
      box.dataset.saved = text;
      progress(answer.progress);
      mark.classList.remove("bad");
      mark.textContent = opts.accept ? "accepted" : "saved";
      if (answer.replaced !== null && answer.replaced !== undefined) {
        say(id + ": this replaced what another tab had saved: “" + answer.replaced + "”");
      }
    } catch (e) {
      mark.classList.add("bad");
      mark.textContent = "not saved: " + e.message;
      say(id + ": not saved: " + e.message, true);
    }
  }

  function dirty(row) {
    const box = row.querySelector("textarea");
    return box.value !== (box.dataset.saved ?? box.defaultValue);
  }

  function visible(row) {
    return row.offsetParent !== null;
  }

  function focusRow(row) {
    if (!row) return;
    const box = row.querySelector("textarea");
    box.focus({ preventScroll: true });
    row.scrollIntoView({ block: "center" });
  }

  function step(dir, onlyFlagged) {
    const start = current ? rows.indexOf(current) : -1;
    for (let i = start + dir; i >= 0 && i < rows.length; i += dir) {
      const r = rows[i];
      if (visible(r) && (!onlyFlagged || r.classList.contains("flagged"))) {
        focusRow(r);
        return;
      }
    }
  }

  let cursorTimer = null;
  function setCurrent(row) {
    if (current === row) return;
    if (current) current.classList.remove("current");
    current = row;
    row.classList.add("current");
    clearTimeout(cursorTimer);
    cursorTimer = setTimeout(() => {
      call("POST", base + "/cursor", { id: row.dataset.id }).catch(() => {});
    }, 300);
  }

  for (const row of rows) {
    const box = row.querySelector("textarea");
    box.dataset.saved = box.value;
    box.addEventListener("focus", () => setCurrent(row));
    box.addEventListener("input", () => {
      clearTimeout(pending.get(row.dataset.id));
      pending.set(row.dataset.id, setTimeout(() => save(row, { commit: false }), 600));
    });
    // Leaving the box commits the text (to the memory too).
    box.addEventListener("change", () => save(row, { commit: true }));
    row.querySelector(".accept").addEventListener("click", () => {
      setCurrent(row);
      save(row, { accept: true, commit: true });
    });
    for (const b of row.querySelectorAll("button.take")) {
      b.addEventListener("click", () => {
        box.value = b.dataset.text;
        setCurrent(row);
        save(row, { commit: true });
      });
    }
  }

  document.addEventListener("keydown", (ev) => {
    if (!rows.length) return;
    if (ev.altKey && ev.key === "ArrowDown") {
      ev.preventDefault();
      step(1, ev.shiftKey);
    } else if (ev.altKey && ev.key === "ArrowUp") {
      ev.preventDefault();
      step(-1, ev.shiftKey);
    } else if ((ev.ctrlKey || ev.metaKey) && ev.key === "Enter" && current) {
      ev.preventDefault();
      const row = current;
      save(row, { accept: true, commit: true });
      step(1, false);
    }
  });

  const only = document.getElementById("only-flagged");
  if (only) {
    only.addEventListener("change", () => body.classList.toggle("only-flagged", only.checked));
  }

  // Another tab's saves: every few seconds (and on coming back to this
  // tab), rows with a newer revision are fetched again.
  async function poll() {
    if (!base) return;
    try {
      const answer = await call("GET", base + "/revs");
      progress(answer.progress);
      for (const row of rows) {
        const rev = answer.revs[row.dataset.id];
        if (rev !== undefined && rev > Number(row.dataset.rev) && !pending.has(row.dataset.id)) {
          const parts = await call("GET", base + "/seg/" + encodeURIComponent(row.dataset.id));
          const mine = dirty(row);
          apply(row, parts, mine);
          say(row.dataset.id + " was changed in another tab" + (mine ? "; your unsaved text is kept and will replace it when saved" : "") + ".");
        }
      }
    } catch (e) {
      // The server stopped: say it once.
      say("The review server does not answer (" + e.message + "); your saved edits are in the review file.", true);
    }
  }
  let pollTimer = null;
  if (base) {
    pollTimer = setInterval(poll, 2000);
    window.addEventListener("focus", poll);
  }

  // Glossary: select Arabic in a row, type the English, add.
  const form = document.getElementById("term-form");
  if (form) {
    const ar = document.getElementById("term-ar");
    const en = document.getElementById("term-en");
    document.addEventListener("selectionchange", () => {
      const sel = window.getSelection();
      if (!sel || sel.isCollapsed || sel.rangeCount === 0) return;
      const range = sel.getRangeAt(0);
      const node = range.commonAncestorContainer;
      const el = node.nodeType === 1 ? node : node.parentElement;
      const cell = el && el.closest(".ar");
      if (!cell) return;
      const frag = range.cloneContents();
      for (const n of frag.querySelectorAll("sup.tn")) n.remove();
      const text = frag.textContent.replace(/\s+/g, " ").trim();
      if (!text) return;
      ar.textContent = text;
      form.hidden = false;
    });
    document.getElementById("term-cancel").addEventListener("click", () => {
      form.hidden = true;
    });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        const answer = await call("POST", base + "/glossary", {
          source: ar.textContent,
          target: en.value,
        });
        for (const parts of answer.rows) {
          const row = document.getElementById("seg-" + parts.id);
          if (row) apply(row, parts, true);
        }
        progress(answer.progress);
        say(answer.message + " (" + answer.rows.length + " row(s) checked again)");
        form.hidden = true;
        en.value = "";
      } catch (e) {
        say("glossary: " + e.message, true);
      }
    });
  }

  const done = document.getElementById("done");
  if (done) {
    done.addEventListener("click", async () => {
      const waits = [];
      for (const row of rows) {
        if (dirty(row) || pending.has(row.dataset.id)) waits.push(save(row, { commit: true }));
      }
      await Promise.all(waits);
      try {
        const answer = await call("POST", root + "/done");
        clearInterval(pollTimer);
        const p = document.createElement("p");
        p.className = "finished";
        p.textContent = answer.message;
        document.querySelector("main").replaceChildren(p);
        say("");
      } catch (e) {
        say("done: " + e.message, true);
      }
    });
  }

  // Closing the tab: saves still waiting for a pause in the typing go now.
  window.addEventListener("pagehide", () => {
    for (const row of rows) {
      if (!pending.has(row.dataset.id)) continue;
      fetch(base + "/seg/" + encodeURIComponent(row.dataset.id), {
        method: "PUT",
        keepalive: true,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: row.querySelector("textarea").value, rev: Number(row.dataset.rev), commit: true }),
      });
    }
  });

  // Open where the editor stopped.
  const at = body.dataset.cursor && document.getElementById("seg-" + body.dataset.cursor);
  if (at) focusRow(at);
})();
