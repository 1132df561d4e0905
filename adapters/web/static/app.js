/* Agora playground: one column per city channel of the demo network, over the JSON API.
 *
 * Message text reaches the page only as text nodes built from the API's
 * rich-text segments (or, for command replies, from a small parser of the
 * playground markup): never through innerHTML, so a message cannot inject
 * markup or script. Columns poll their messages every second and update in
 * place, keyed by message id, so open threads, drafts and focus survive.
 */
"use strict";

(() => {
  const POLL_MS = 1000;
  const CHANNELS_EVERY = 10; // re-read the channel list every N polls (links made at runtime)
  const NAME_BY_CITY = { Boston: "Ana", Guadalajara: "Luis", Recife: "Rita" };
  const NAME_BY_LANG = { en: "Ana", es: "Luis", pt: "Rita" };
  const LANG_NAMES = { en: "English", es: "Spanish", pt: "Portuguese" };
  const STYLE_TAGS = { bold: "strong", italic: "em", underline: "u", strike: "s", spoiler: "span" };
  const EMOJI = {
    "+1": "👍", thumbsup: "👍", "-1": "👎", smile: "😄", slightly_smiling_face: "🙂", heart: "❤️",
    tada: "🎉", wave: "👋", pray: "🙏", raised_hands: "🙌", white_check_mark: "✅", warning: "⚠️",
    eyes: "👀", rocket: "🚀", fire: "🔥", thinking_face: "🤔", joy: "😂", clap: "👏", ok_hand: "👌",
    sparkles: "✨", point_up: "☝️", bulb: "💡", memo: "📝", house: "🏠", earth_americas: "🌎",
  };

  // ------------------------------------------------------------------ DOM helpers

  /** An element with attributes and children; strings become text nodes, never HTML. */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "testid") node.dataset.testid = value;
      else if (key === "key") node.dataset.key = value;
      else if (value === true) node.setAttribute(key, "");
      else node.setAttribute(key, String(value));
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) node.append(child);
    }
    return node;
  }

  function on(node, type, handler) {
    node.addEventListener(type, handler);
    return node;
  }

  function button(label, attrs, handler) {
    return on(el("button", { type: "button", ...attrs }, label), "click", handler);
  }

  /** Ctrl/Cmd+Enter in a textarea submits its form; Escape runs ``onEscape``. */
  function keys(textarea, form, onEscape) {
    on(textarea, "keydown", (ev) => {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
        ev.preventDefault();
        form.requestSubmit();
      } else if (ev.key === "Escape" && onEscape) {
        ev.preventDefault();
        onEscape();
      }
    });
  }

  function plural(n, one, many) {
    return `${n} ${n === 1 ? one : many}`;
  }

  function langName(code) {
    return LANG_NAMES[code] || String(code || "?");
  }

  // ------------------------------------------------------------------ API

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  /** The access token of a playground served beyond loopback: given once as #token=… in the
   * address, kept for this tab only, and removed from the address bar. */
  function takeToken() {
    const match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
    if (!match) return false;
    sessionStorage.setItem("agora-token", decodeURIComponent(match[1]));
    history.replaceState(null, "", window.location.pathname + window.location.search);
    return true;
  }
  takeToken();
  window.addEventListener("hashchange", () => {
    if (takeToken()) window.location.reload();
  });

  async function api(method, path, body) {
    const init = { method, headers: { Accept: "application/json" } };
    const token = sessionStorage.getItem("agora-token");
    if (token) init.headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch {
      throw new ApiError("Cannot reach Agora. Is `agora run` still running?", 0);
    }
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (!res.ok) {
      const message = data && typeof data.error === "string" ? data.error : `${res.status} ${res.statusText}`;
      throw new ApiError(message, res.status);
    }
    return data;
  }

  function messagesPath(channelId, messageId) {
    const base = `/api/channels/${encodeURIComponent(channelId)}/messages`;
    return messageId === undefined ? base : `${base}/${encodeURIComponent(messageId)}`;
  }

  // ------------------------------------------------------------------ rich text

  function linkNode(url, label) {
    let safe = false;
    try {
      const parsed = new URL(String(url));
      safe = parsed.protocol === "http:" || parsed.protocol === "https:";
    } catch {
      safe = false;
    }
    const text = label ? String(label) : String(url);
    if (!safe) return document.createTextNode(label ? `${text} (${url})` : text);
    return el("a", { href: String(url), target: "_blank", rel: "noopener noreferrer nofollow" }, text);
  }

  /** The core's rich-text JSON (bot/richtext.py to_json) as DOM nodes. */
  function renderSegments(segments) {
    const frag = document.createDocumentFragment();
    for (const seg of Array.isArray(segments) ? segments : []) {
      const node = renderSegment(seg);
      if (node) frag.append(node);
    }
    return frag;
  }

  function renderSegment(seg) {
    switch (seg && seg.t) {
      case "text":
        return document.createTextNode(String(seg.text ?? ""));
      case "mention": {
        const prefix = seg.kind === "channel" ? "#" : "@";
        const name = seg.kind === "broadcast" ? seg.id : seg.label || seg.id;
        return el("span", { class: `mention mention-${seg.kind}` }, prefix + String(name ?? ""));
      }
      case "link":
        return linkNode(seg.url, seg.label);
      case "emoji": {
        const name = String(seg.name ?? "");
        return el("span", { class: "emoji", title: `:${name}:` }, EMOJI[name] || `:${name}:`);
      }
      case "code":
        return el("code", {}, String(seg.text ?? ""));
      case "codeblock":
        return el("pre", { class: "codeblock", "data-lang": seg.lang || null }, el("code", {}, String(seg.text ?? "")));
      case "styled": {
        const spoiler = seg.style === "spoiler";
        const node = el(STYLE_TAGS[seg.style] || "span", {
          class: spoiler ? "spoiler" : null,
          tabindex: spoiler ? 0 : null,
          title: spoiler ? "Spoiler: hover or focus to read" : null,
        });
        node.append(renderSegments(seg.children));
        return node;
      }
      case "quote": {
        const node = el("blockquote");
        node.append(renderSegments(seg.children));
        return node;
      }
      case "br":
        return el("br");
      default:
        return null;
    }
  }

  /** A message's files: images inline, every file as a download link with its size. */
  function renderFiles(list) {
    return el("ul", { class: "files", testid: "files", "aria-label": "Files" }, list.map((f) => {
      const url = String(f.url || "");
      const safe = url.startsWith("/files/");
      const link = safe
        ? el("a", { href: url, download: String(f.name || "file"), testid: "file-link" },
          `📎 ${f.name} (${fileSize(f.size)})`)
        : document.createTextNode(`📎 ${f.name}`);
      const image = safe && f.image ? el("img", { class: "file-image", src: url, alt: String(f.name || "") }) : null;
      return el("li", { class: "file" }, image, link);
    }));
  }

  function fileSize(n) {
    if (typeof n !== "number") return "?";
    if (n >= 1048576) return `${(n / 1048576).toFixed(1)} MB`;
    if (n >= 1024) return `${Math.floor(n / 1024)} KB`;
    return `${n} bytes`;
  }

  /** A picked file as the API takes it: name, type and base64 content. */
  function readFile(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => {
        const dataUrl = String(reader.result || "");
        resolve({ name: file.name, type: file.type || "application/octet-stream", data: dataUrl.split(",", 2)[1] || "" });
      };
      reader.onerror = () => reject(new Error(`Could not read ${file.name}`));
      reader.readAsDataURL(file);
    });
  }

  /** Several replies' segments, one after the other. */
  function renderReplies(list) {
    const frag = document.createDocumentFragment();
    (Array.isArray(list) ? list : []).forEach((segments, i) => {
      if (i > 0) frag.append(el("br"));
      frag.append(renderSegments(segments));
    });
    return frag;
  }

  // ------------------------------------------------------------------ one column

  let wakeUp = null;
  let poked = false;

  /** Poll now instead of waiting for the next tick (after a post, an edit or a delete). */
  function poke() {
    poked = true;
    if (wakeUp) wakeUp();
  }

  class ChannelView {
    constructor(channel, index) {
      this.channel = channel;
      this.p = `ch${index}`;
      this.messages = [];
      this.lastSig = null;
      this.entries = new Map(); // top-level message id -> entry
      this.open = new Set(); // roots whose thread is open
      this.originals = new Set(); // messages showing their original
      this.editing = new Set(); // messages in edit mode
      this.node = this.build();
    }

    build() {
      const { channel, p } = this;
      const titleId = `${p}-title`;
      const header = el(
        "header",
        { class: "channel-head" },
        el("h2", { id: titleId, testid: "channel-city" }, channel.city),
        el("span", { class: "badge lang", testid: "channel-lang", title: langName(channel.lang) },
          String(channel.lang).toUpperCase()),
        el("span", { class: "badge platform", testid: "channel-platform", title: "Platform" }, channel.platform),
      );
      this.error = el("p", { class: "error channel-error", testid: "channel-error", role: "alert" });
      this.list = el("ol", { class: "messages", testid: "messages", "aria-label": `Messages in ${channel.city}` });
      this.empty = el("p", { class: "empty", testid: "empty" },
        "No messages yet. Ask the network something: /ask followed by your question.");
      this.panel = this.buildPanel();
      this.composer = this.buildComposer();
      const section = el(
        "section",
        {
          class: "channel",
          testid: `channel-${channel.id}`,
          "data-channel": channel.id,
          "data-lang": channel.lang,
          "aria-labelledby": titleId,
        },
        header, this.error, this.list, this.empty, this.panel, this.composer,
      );
      on(section, "keydown", (ev) => {
        if (ev.key === "Escape" && !this.panel.hidden && !ev.defaultPrevented) this.hidePanel();
      });
      return section;
    }

    buildPanel() {
      const { p } = this;
      this.panelTitle = el("h3", { id: `${p}-panel-title`, testid: "command-title" }, "Agora");
      this.panelBody = el("div", { class: "panel-body", testid: "command-reply" });
      this.panelImage = el("img", { class: "chart", testid: "command-image", alt: "", hidden: true });
      const close = button("×", { class: "close", testid: "panel-close", "aria-label": "Dismiss Agora's reply" },
        () => this.hidePanel());
      return el(
        "section",
        { class: "panel", testid: "command-panel", hidden: true, "aria-labelledby": `${p}-panel-title`,
          "aria-live": "polite" },
        el("div", { class: "panel-head" }, this.panelTitle, close),
        this.panelBody,
        this.panelImage,
      );
    }

    buildComposer() {
      const { channel, p } = this;
      const stored = readName(channel.id);
      this.userInput = el("input", {
        id: `${p}-user`, testid: "user", type: "text", maxlength: 80, autocomplete: "nickname", required: true,
        value: stored || NAME_BY_CITY[channel.city] || NAME_BY_LANG[channel.lang] || "Guest",
      });
      on(this.userInput, "change", () => saveName(channel.id, this.userInput.value.trim()));
      this.textInput = el("textarea", {
        id: `${p}-text`, testid: "composer-text", rows: 3,
        placeholder: `Message ${channel.city}, or /ask a question`,
      });
      this.composerError = el("p", { class: "error", testid: "composer-error", role: "alert" });
      this.fileInput = el("input", { id: `${p}-files`, testid: "composer-files", type: "file", multiple: true });
      this.sendButton = el("button", { type: "submit", testid: "send" }, "Send");
      const form = el(
        "form",
        { class: "composer", testid: "composer", "aria-label": `Post in ${channel.city}` },
        el("div", { class: "field name" },
          el("label", { for: `${p}-user` }, "Posting as"), this.userInput),
        el("div", { class: "field" },
          el("label", { for: `${p}-text` }, "Message"), this.textInput),
        el("div", { class: "field files-field" },
          el("label", { for: `${p}-files` }, "Files"), this.fileInput),
        el("div", { class: "row" }, this.sendButton, el("span", { class: "hint" }, "Ctrl+Enter sends")),
        this.composerError,
      );
      on(form, "submit", (ev) => {
        ev.preventDefault();
        this.submit(this.textInput, this.composerError, this.sendButton, null, this.fileInput);
      });
      keys(this.textInput, form, null);
      return form;
    }

    // -------------------------------------------------------------- posting

    async submit(textarea, errorNode, sendButton, threadId, fileInput = null) {
      errorNode.textContent = "";
      const user = this.userInput.value.trim();
      const text = textarea.value;
      const picked = fileInput && fileInput.files ? Array.from(fileInput.files) : [];
      if (!user) {
        errorNode.textContent = "Enter the name you are posting as.";
        this.userInput.focus();
        return;
      }
      if (!text.trim() && !picked.length) {
        errorNode.textContent = "Write a message first.";
        textarea.focus();
        return;
      }
      const body = { user, text };
      if (threadId !== null) body.thread_id = threadId;
      sendButton.disabled = true;
      try {
        if (picked.length) body.files = await Promise.all(picked.map(readFile));
        const data = await api("POST", messagesPath(this.channel.id), body);
        textarea.value = "";
        if (fileInput) fileInput.value = "";
        if (text.trim().startsWith("/")) this.showPanel(text.trim(), data || {});
        poke();
      } catch (err) {
        errorNode.textContent = err.message;
      } finally {
        sendButton.disabled = false;
      }
    }

    showPanel(command, data) {
      const first = command.split(/\s+/, 2).join(" ");
      this.panelTitle.textContent = `Agora: ${first.length > 40 ? `${first.slice(0, 40)}…` : first}`;
      this.panelBody.replaceChildren(Array.isArray(data.reply_segments) && data.reply_segments.length
        ? renderReplies(data.reply_segments) : document.createTextNode("(no reply)"));
      const similar = Array.isArray(data.similar) ? data.similar : [];
      if (similar.length) this.panelBody.append(this.similarList(similar));
      const image = typeof data.image === "string" && data.image.startsWith("data:image/png;base64,") ? data.image : "";
      if (image) {
        this.panelImage.src = image;
        this.panelImage.alt = "Chart of the network's hot topics";
        this.panelImage.hidden = false;
      } else {
        this.panelImage.removeAttribute("src");
        this.panelImage.alt = "";
        this.panelImage.hidden = true;
      }
      this.panel.hidden = false;
    }

    /** Earlier questions like the one just asked, each with a button opening its thread in this column. */
    similarList(similar) {
      const items = similar.map((s) => {
        const root = this.messages.find((m) => (m.thread_id === null || m.thread_id === undefined)
          && m.message_id === s.message_id);
        const label = `#${s.message_id} ${s.city}: ${s.text}`;
        return el("li", { testid: "similar" }, label, " ",
          root ? button("Open thread", { testid: "similar-open", "aria-label": `Open the thread of #${s.message_id}` },
            () => this.openThread(root.id)) : null);
      });
      return el("ul", { class: "similar", testid: "similar-list", "aria-label": "Asked before" }, items);
    }

    openThread(id) {
      if (!this.open.has(id)) this.toggleThread(id);
      this.entries.get(id)?.li.scrollIntoView({ block: "nearest" });
    }

    hidePanel() {
      this.panel.hidden = true;
      this.textInput.focus();
    }

    async edit(msg, textarea, errorNode) {
      errorNode.textContent = "";
      try {
        await api("PATCH", messagesPath(this.channel.id, msg.id), { text: textarea.value });
        this.editing.delete(msg.id);
        this.lastSig = null;
        poke();
      } catch (err) {
        errorNode.textContent = err.message;
      }
    }

    async remove(msg, errorNode) {
      if (!window.confirm(`Delete this message by ${msg.user}? Its copies in the other cities go too.`)) return;
      errorNode.textContent = "";
      try {
        await api("DELETE", messagesPath(this.channel.id, msg.id));
        poke();
      } catch (err) {
        errorNode.textContent = err.message;
      }
    }

    // -------------------------------------------------------------- rendering

    async refresh() {
      let messages;
      try {
        messages = await api("GET", messagesPath(this.channel.id));
      } catch (err) {
        this.error.textContent = err.message;
        throw err;
      }
      this.error.textContent = "";
      const sig = JSON.stringify(messages);
      if (sig === this.lastSig) return;
      this.lastSig = sig;
      this.messages = Array.isArray(messages) ? messages : [];
      this.render();
    }

    /** Update the column from ``this.messages`` in place. */
    render() {
      const byId = new Map(this.messages.map((m) => [m.id, m]));
      const rootOf = (m) => {
        let cur = m;
        for (let hops = 0; cur.thread_id !== null && cur.thread_id !== undefined && hops < 20; hops += 1) {
          const up = byId.get(cur.thread_id);
          if (!up) return null; // its thread was deleted
          cur = up;
        }
        return cur;
      };
      const roots = [];
      const replies = new Map();
      for (const m of this.messages) {
        if (m.thread_id === null || m.thread_id === undefined) {
          roots.push(m);
          continue;
        }
        const root = rootOf(m);
        if (root) {
          if (!replies.has(root.id)) replies.set(root.id, []);
          replies.get(root.id).push(m);
        }
      }
      const list = this.list;
      const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
      const before = list.children.length;
      reconcile(list, roots, this.entries, (m) => this.makeRoot(m), (entry, m) => {
        const threadReplies = replies.get(m.id) || [];
        this.updateCard(entry, m, { root: true, replyCount: threadReplies.length });
        const open = this.open.has(m.id);
        entry.thread.hidden = !open;
        if (open) {
          reconcile(entry.replies, threadReplies, entry.replyEntries, (r) => this.makeReply(r),
            (replyEntry, r) => this.updateCard(replyEntry, r, { root: false, replyCount: 0 }));
        }
      });
      this.empty.hidden = roots.length > 0;
      if (nearBottom || before === 0) list.scrollTop = list.scrollHeight;
    }

    makeRoot(msg) {
      const threadId = `${this.p}-thread-${msg.id}`;
      const replies = el("ol", { class: "replies", testid: "replies", "aria-label": "Replies" });
      const textarea = el("textarea", { id: `${threadId}-text`, testid: "reply-text", rows: 2,
        placeholder: "Reply in this thread" });
      const error = el("p", { class: "error", testid: "reply-error", role: "alert" });
      const send = el("button", { type: "submit", testid: "reply-send" }, "Reply");
      const form = el(
        "form",
        { class: "reply-form", testid: "reply-form" },
        el("label", { for: textarea.id, class: "visually-hidden" }, "Reply in this thread"),
        textarea,
        el("div", { class: "row" }, send),
        error,
      );
      on(form, "submit", (ev) => {
        ev.preventDefault();
        this.submit(textarea, error, send, msg.id);
      });
      keys(textarea, form, () => this.toggleThread(msg.id));
      const thread = el("div", { class: "thread", id: threadId, testid: "thread", hidden: true }, replies, form);
      const li = el("li", { class: "message", testid: "message", "data-id": msg.id }, thread);
      return { li, thread, replies, replyText: textarea, card: null, sig: null, replyEntries: new Map() };
    }

    makeReply(msg) {
      const li = el("li", { class: "message reply", testid: "reply", "data-id": msg.id });
      return { li, card: null, sig: null };
    }

    toggleThread(id) {
      if (this.open.has(id)) this.open.delete(id);
      else this.open.add(id);
      this.render();
      const entry = this.entries.get(id);
      if (entry && this.open.has(id)) entry.replyText.focus();
      else if (entry) entry.li.querySelector('[data-key="thread"]')?.focus();
    }

    /** Rebuild a message's card when it (or how it is shown) changed, keeping focus. */
    updateCard(entry, msg, opts) {
      const editing = this.editing.has(msg.id);
      if (editing && entry.editingShown) return; // keep the draft being typed
      const sig = JSON.stringify([msg, opts.replyCount, this.open.has(msg.id), this.originals.has(msg.id), editing]);
      if (sig === entry.sig) return;
      entry.sig = sig;
      entry.editingShown = editing;
      entry.li.dataset.messageId = msg.message_id ?? "";
      entry.li.dataset.copy = msg.is_copy ? "true" : "false";
      const active = document.activeElement;
      const key = entry.card && entry.card.contains(active) ? active.dataset.key : null;
      const card = this.card(msg, opts, editing);
      if (entry.card) entry.card.replaceWith(card);
      else entry.li.prepend(card);
      entry.card = card;
      if (editing) card.querySelector("textarea")?.focus();
      else if (key) card.querySelector(`[data-key="${key}"]`)?.focus();
    }

    ownMessage(msg) {
      // Originals posted here, and the asker's own copy of an /ask question.
      return !msg.is_copy || msg.own === true;
    }

    card(msg, opts, editing) {
      const id = msg.id;
      const marks = [];
      const translatedFrom = msg.is_copy && msg.translated && msg.original_lang && msg.original_lang !== msg.lang;
      if (translatedFrom) {
        marks.push(el("span", { class: "mark translated", testid: "translated-mark",
          title: `Machine-translated from ${langName(msg.original_lang)}` },
        `translated from ${String(msg.original_lang).toUpperCase()}`));
      }
      if (!msg.translated) {
        marks.push(el("span", { class: "mark untranslated", testid: "untranslated-mark",
          title: "Translation was not available: this is the text as written" }, "untranslated"));
      }
      if (msg.edited) marks.push(el("span", { class: "mark edited", testid: "edited-mark" }, "edited"));
      const user = String(msg.user ?? "");
      const city = msg.city && !user.includes(msg.city) ? msg.city : null;
      const meta = el(
        "div",
        { class: "meta" },
        el("span", { class: "author", testid: "author" }, user),
        city ? el("span", { class: "city", testid: "city" }, city) : null,
        marks,
      );
      const errorNode = el("p", { class: "error", testid: "message-error", role: "alert" });
      const article = el("article", { class: "card", "aria-label": `Message from ${user}` }, meta);

      if (editing) {
        article.append(this.editForm(msg, errorNode));
        return article;
      }

      const body = el("div", { class: "body", testid: "message-body", lang: msg.lang || null, dir: "auto" });
      body.append(renderSegments(msg.segments));
      article.append(body);
      if (Array.isArray(msg.files) && msg.files.length) article.append(renderFiles(msg.files));

      const labels = Array.isArray(msg.topic_labels) ? msg.topic_labels : [];
      if (labels.length) {
        article.append(el("ul", { class: "topics", "aria-label": "Topics" },
          labels.map((label, i) => el("li", { class: "chip", testid: "topic-chip",
            "data-topic": (msg.topics || [])[i] ?? null }, String(label)))));
      }

      const actions = el("div", { class: "actions" });
      const hasOriginal = msg.is_copy && typeof msg.original_text === "string" && msg.original_text
        && (msg.original_text !== msg.text || msg.original_lang !== msg.lang);
      let original = null;
      if (hasOriginal) {
        const shown = this.originals.has(id);
        const originalId = `${this.p}-original-${id}`;
        original = el("div", { class: "original", id: originalId, testid: "original", lang: msg.original_lang || null,
          hidden: !shown },
        el("span", { class: "badge lang", title: langName(msg.original_lang) },
          String(msg.original_lang || "?").toUpperCase()),
        " ", renderSegments(msg.original_segments));
        actions.append(button(shown ? "Hide original" : "View original",
          { testid: "toggle-original", key: "original", "aria-expanded": String(shown), "aria-controls": originalId },
          () => {
            if (this.originals.has(id)) this.originals.delete(id);
            else this.originals.add(id);
            this.render();
          }));
      }
      if (opts.root) {
        const open = this.open.has(id);
        actions.append(
          el("span", { class: "reply-count", testid: "reply-count", "data-count": opts.replyCount },
            opts.replyCount ? plural(opts.replyCount, "reply", "replies") : "no replies yet"),
          button(open ? "Close thread" : "Open thread",
            { testid: "open-thread", key: "thread", "aria-expanded": String(open),
              "aria-controls": `${this.p}-thread-${id}` },
            () => this.toggleThread(id)),
        );
      }
      if (this.ownMessage(msg)) {
        actions.append(
          button("Edit", { testid: "edit", key: "edit", class: "quiet" }, () => {
            this.editing.add(id);
            this.render();
          }),
          button("Delete", { testid: "delete", key: "delete", class: "quiet danger" },
            () => this.remove(msg, errorNode)),
        );
      }
      if (original) body.after(original);
      article.append(actions, errorNode);
      return article;
    }

    editForm(msg, errorNode) {
      const textareaId = `${this.p}-edit-${msg.id}`;
      const textarea = el("textarea", { id: textareaId, testid: "edit-text", rows: 3 });
      textarea.value = String(msg.text ?? "");
      const cancel = () => {
        this.editing.delete(msg.id);
        this.render();
      };
      const form = el(
        "form",
        { class: "edit-form", testid: "edit-form" },
        el("label", { for: textareaId, class: "visually-hidden" }, "Edit the message"),
        textarea,
        el("div", { class: "row" },
          el("button", { type: "submit", testid: "edit-save" }, "Save"),
          button("Cancel", { testid: "edit-cancel", class: "quiet" }, cancel)),
        errorNode,
      );
      on(form, "submit", (ev) => {
        ev.preventDefault();
        this.edit(msg, textarea, errorNode);
      });
      keys(textarea, form, cancel);
      return form;
    }
  }

  /** Make ``list``'s children follow ``items`` (keyed by id), reusing existing nodes. */
  function reconcile(list, items, entries, make, update) {
    const keep = new Set(items.map((m) => m.id));
    for (const [id, entry] of entries) {
      if (!keep.has(id)) {
        entry.li.remove();
        entries.delete(id);
      }
    }
    items.forEach((msg, i) => {
      let entry = entries.get(msg.id);
      if (!entry) {
        entry = make(msg);
        entries.set(msg.id, entry);
      }
      update(entry, msg);
      const at = list.children[i];
      if (at !== entry.li) list.insertBefore(entry.li, at || null);
    });
  }

  function readName(channelId) {
    try {
      return window.localStorage.getItem(`agora.name.${channelId}`) || "";
    } catch {
      return "";
    }
  }

  function saveName(channelId, name) {
    try {
      if (name) window.localStorage.setItem(`agora.name.${channelId}`, name);
    } catch {
      // storage disabled: the name lasts for this page only
    }
  }

  // ------------------------------------------------------------------ the page

  const views = new Map();
  let nextIndex = 0;
  const container = document.getElementById("channels");
  const status = document.getElementById("status");

  function setStatus(text) {
    if (status.textContent !== text) status.textContent = text;
  }

  async function loadChannels() {
    const channels = await api("GET", "/api/channels");
    const seen = new Set();
    for (const channel of Array.isArray(channels) ? channels : []) {
      seen.add(channel.id);
      if (!views.has(channel.id)) {
        const view = new ChannelView(channel, nextIndex++);
        views.set(channel.id, view);
        container.append(view.node);
      }
    }
    for (const [id, view] of views) {
      if (!seen.has(id)) {
        view.node.remove();
        views.delete(id);
      }
    }
    container.querySelector('[data-testid="loading"]')?.remove();
    container.dataset.ready = "true";
    if (!views.size) setStatus("No web channels are linked: add [[networks.channels]] with web: refs to config.toml.");
  }

  async function pollOnce(tick) {
    if (tick % CHANNELS_EVERY === 0 || !views.size) await loadChannels();
    const results = await Promise.allSettled([...views.values()].map((v) => v.refresh()));
    const down = results.find((r) => r.status === "rejected" && r.reason && r.reason.status === 0);
    if (down) setStatus(down.reason.message);
    else if (views.size) setStatus("");
  }

  async function run() {
    for (let tick = 0; ; tick += 1) {
      try {
        await pollOnce(tick);
      } catch (err) {
        setStatus(err.message || String(err));
      }
      if (poked) {
        poked = false;
        continue;
      }
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeUp = null;
      poked = false;
    }
  }

  run();
})();
