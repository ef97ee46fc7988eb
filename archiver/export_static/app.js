/* transcript-archiver review bundle: players, transcript, search.
 *
 * Runs from file:// under a strict Content-Security-Policy: no inline script, no
 * fetch(), no <track src> (each file:// page is its own origin). The data a page needs
 * sits in a <script type="application/json"> block and is read with JSON.parse; web
 * text only ever reaches the DOM through textContent, never innerHTML.
 */
(function () {
  "use strict";

  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  function readJSON(id) {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function clock(seconds) {
    const t = Math.max(0, Math.floor(seconds || 0));
    const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
    const two = (n) => String(n).padStart(2, "0");
    return (h ? h + ":" : "") + two(m) + ":" + two(s);
  }

  // VTTCue text is WebVTT cue markup: escape it so "<b>" in a transcript stays text.
  const cueText = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

  // ------------------------------------------------------------------ players

  const players = {};  // video id -> {video, figure, list, segs, sents, cur, curSent}
  let active = null;

  function timed(elements) {
    return elements.map((el) => ({ el, t: parseFloat(el.dataset.t), e: parseFloat(el.dataset.e) }))
      .sort((a, b) => a.t - b.t);
  }

  function setupPlayers(data) {
    const cues = (data && data.videos) || {};
    $$("figure.player-video").forEach((figure) => {
      const id = figure.dataset.v;
      const video = $("video", figure);
      const list = $$(".segments").find((ol) => ol.dataset.v === id) || null;
      const p = {
        id, video, figure, list,
        segs: list ? timed($$(".seg", list)) : [],
        sents: timed($$(".s.spoken").filter((el) => el.dataset.v === id)),
        cur: null, curSent: null,
      };
      players[id] = p;
      if (!video) return;
      const info = cues[id];
      if (info && info.cues.length) {
        const track = video.addTextTrack("subtitles", "Transcript", info.lang || "");
        // c[3]: the speaker, a WebVTT voice span (<v Name>) as in the .vtt file
        info.cues.forEach((c) => track.addCue(new VTTCue(c[0], c[1], (c[3] ? "<v " + cueText(c[3]) + ">" : "") + cueText(c[2]))));
        track.mode = "showing";
      }
      if (info && info.translation && info.translation.length) {  // the English track, offered beside it
        const english = video.addTextTrack("subtitles", "English (translation)", "en");
        info.translation.forEach((c) => english.addCue(new VTTCue(c[0], c[1], cueText(c[2]))));
        english.mode = "hidden";
      }
      const update = () => highlight(p, video.currentTime);
      ["timeupdate", "seeked", "seeking", "loadedmetadata"].forEach((ev) => video.addEventListener(ev, update));
      video.addEventListener("play", () => activate(id));
    });
    const first = $("figure.player-video");
    if (first) activate(first.dataset.v);
  }

  function activate(id) {
    if (!players[id] || active === id) return;
    active = id;
    Object.values(players).forEach((p) => {
      const on = p.id === id;
      p.figure.hidden = !on;
      if (p.list) p.list.hidden = !on;
      $$("section.translation").filter((el) => el.dataset.v === p.id).forEach((el) => { el.hidden = !on; });
      if (!on && p.video && !p.video.paused) p.video.pause();
    });
    $$(".tabs [data-tab]").forEach((tab) => tab.setAttribute("aria-selected", String(tab.dataset.tab === id)));
  }

  // the last item that starts at or before t, if t is not past its end
  function at(items, t) {
    let lo = 0, hi = items.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (items[mid].t <= t + 0.05) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    if (found < 0) return null;
    const item = items[found];
    return isNaN(item.e) || t <= item.e + 0.25 ? item : null;
  }

  function highlight(p, t) {
    const seg = at(p.segs, t);
    if (seg !== p.cur) {
      if (p.cur) p.cur.el.classList.remove("current");
      p.cur = seg;
      if (seg) {
        seg.el.classList.add("current");
        keepVisible(seg.el);
      }
      const now = $(".transcript .now");
      if (now) now.textContent = seg ? clock(seg.t) : "";
    }
    const sent = at(p.sents, t);
    if (sent !== p.curSent) {
      if (p.curSent) p.curSent.el.classList.remove("playing");
      p.curSent = sent;
      if (sent) sent.el.classList.add("playing");
    }
  }

  // scroll the transcript pane (never the page) so the current segment stays in view
  function keepVisible(el) {
    const pane = el.closest(".pane");
    if (!pane || pane.scrollHeight <= pane.clientHeight + 1) return;
    const top = el.offsetTop, bottom = top + el.offsetHeight;
    if (top < pane.scrollTop || bottom > pane.scrollTop + pane.clientHeight) {
      pane.scrollTop = Math.max(0, top - pane.clientHeight / 3);
    }
  }

  function seekTo(id, t, play) {
    const p = players[id];
    if (!p) return;
    activate(id);
    if (p.video) {
      p.video.currentTime = t;  // before metadata this becomes the start position
      if (play) {
        const started = p.video.play();
        if (started) started.catch(() => {});
      }
    }
    highlight(p, t);
  }

  function onSeekable(ev) {
    const el = ev.target.closest(".seek");
    if (!el || ev.target.closest("a[href]")) return;
    ev.preventDefault();
    const t = parseFloat(el.dataset.t);
    seekTo(el.dataset.v, t, true);
    const moment = "#t=" + t.toFixed(2) + "&v=" + encodeURIComponent(el.dataset.v);
    try { history.replaceState(null, "", moment); } catch (e) { /* some file:// setups refuse */ }
  }

  function setupSeeking() {
    document.addEventListener("click", onSeekable);
    document.addEventListener("keydown", (ev) => {
      if ((ev.key === "Enter" || ev.key === " ") && ev.target.classList && ev.target.classList.contains("seek")) {
        onSeekable(ev);
      }
    });
    $$(".tabs [data-tab]").forEach((tab) => tab.addEventListener("click", () => activate(tab.dataset.tab)));
  }

  // #t=12.3&v=video-id&s=4: seek there and show sentence 4 (links from search results)
  function followHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const s = params.get("s");
    const el = s !== null ? document.getElementById("s-" + s) : null;
    if (el) {
      el.scrollIntoView({ block: "center" });
      el.classList.add("flash");
    }
    const t = parseFloat(params.get("t"));
    const v = params.get("v");
    if (!isNaN(t) && v && players[v]) seekTo(v, t, false);
  }

  // ------------------------------------------------------------------ search

  const tokens = archiverWords.words;  // assets/words.js: the words Python indexed, found alike

  function setupSearch(index) {
    const input = $("#q"), out = $("#results"), status = $("#search-status");
    if (!input || !out) return;
    const docs = index.docs, owners = index.owners, terms = index.terms;
    const keys = Object.keys(terms).sort();
    let normalized = null;  // docs' text as space-joined tokens, for phrase matches; built on first use

    function firstWithPrefix(prefix) {
      let lo = 0, hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (keys[mid] < prefix) lo = mid + 1; else hi = mid;
      }
      return lo;
    }

    // doc number -> weight for one query word: an exact word counts 1, a longer word 0.6
    function matching(word) {
      const found = new Map();
      const add = (term, weight) => {
        const ids = terms[term];
        const idf = Math.log(1 + docs.length / ids.length);
        ids.forEach((id) => found.set(id, Math.max(found.get(id) || 0, weight * idf)));
      };
      for (let i = firstWithPrefix(word); i < keys.length && keys[i].startsWith(word); i++) {
        add(keys[i], keys[i] === word ? 1 : 0.6);
      }
      return found;
    }

    function search(query) {
      const words = tokens(query);
      if (!words.length) return { hits: [], words, partial: false };
      const maps = words.map(matching);
      const scores = new Map(), counts = new Map();
      maps.forEach((m) => m.forEach((w, id) => {
        scores.set(id, (scores.get(id) || 0) + w);
        counts.set(id, (counts.get(id) || 0) + 1);
      }));
      let ids = Array.from(scores.keys()).filter((id) => counts.get(id) === words.length);
      const partial = !ids.length;
      if (partial) ids = Array.from(scores.keys());
      if (!normalized) normalized = docs.map((d) => " " + tokens(d.x).join(" ") + " ");
      const phrase = " " + words.join(" ");
      const score = (id) => {
        let s = scores.get(id) + counts.get(id) * 10;
        if (words.length > 1 && normalized[id].includes(phrase)) s += 5;
        if (owners[docs[id].o].k === "article") s *= 1.2;  // the article spells names right
        return s;
      };
      const ranked = ids.map((id) => [score(id), id]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
      return { hits: ranked.slice(0, 50).map((r) => docs[r[1]]), total: ranked.length, words, partial };
    }

    function marked(text, words) {
      const frag = document.createDocumentFragment();
      let last = 0, mark = null;
      for (const [start, end, word] of archiverWords.spans(text)) {
        if (!words.some((w) => word.startsWith(w))) continue;
        const gap = text.slice(last, start);
        if (mark && /^[-'\u2019.]?$/.test(gap)) {
          mark.textContent += gap + text.slice(start, end);  // "al-Tanf" and "北京" are one mark, not two
        } else {
          frag.append(gap);
          mark = document.createElement("mark");
          mark.textContent = text.slice(start, end);
          frag.append(mark);
        }
        last = end;
      }
      frag.append(text.slice(last));
      return frag;
    }

    function href(doc) {
      const owner = owners[doc.o];
      const parts = [];
      if (doc.s !== null && doc.s !== undefined) parts.push("t=" + doc.s, "v=" + encodeURIComponent(doc.v));
      if (doc.i !== undefined && doc.i !== null) parts.push("s=" + doc.i);
      return owner.p + (parts.length ? "#" + parts.join("&") : "");
    }

    function el(tag, cls, text) {
      const e = document.createElement(tag);
      if (cls) e.className = cls;
      if (text !== undefined) e.textContent = text;
      return e;
    }

    function render(query) {
      out.textContent = "";
      if (!query.trim()) { status.textContent = ""; return; }
      const result = search(query);
      if (!result.hits.length) { status.textContent = "No results for \u201c" + query + "\u201d."; return; }
      status.textContent = (result.partial ? "No passage has every word; closest matches: " : "") +
        result.total + " result" + (result.total === 1 ? "" : "s") + (result.total > 50 ? " (first 50)" : "");
      result.hits.forEach((doc) => {
        const owner = owners[doc.o];
        const li = el("li", "result " + owner.k);
        const a = el("a");
        a.href = href(doc);
        const head = el("span", "head");
        const spoken = doc.s !== null && doc.s !== undefined;
        head.append(el("span", spoken ? "badge" : "badge ns", spoken ? clock(doc.s) : "not spoken"),
          el("span", "kind", owner.k === "article" ? "Article" : "Transcript"), el("span", "title", owner.h));
        const snippet = el("span", "snippet");
        snippet.append(marked(doc.x, result.words));
        a.append(head, snippet);
        li.append(a);
        out.append(li);
      });
    }

    let timer = null;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => render(input.value), 60);
    });
    input.form.addEventListener("submit", (ev) => { ev.preventDefault(); render(input.value); });
    const q = new URLSearchParams(location.search).get("q");
    if (q) { input.value = q; render(q); }
  }

  // ------------------------------------------------------------------ start

  function start() {
    setupPlayers(readJSON("page-data"));
    setupSeeking();
    followHash();
    window.addEventListener("hashchange", followHash);
    const index = readJSON("search-index");
    if (index) setupSearch(index);
    document.documentElement.classList.add("js");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
