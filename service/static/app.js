// PartnerSearch page: plain DOM, no build step, no network beyond this server.
// Every piece of document text is inserted with textContent, never as HTML.
"use strict";

const I18N = {
  fr: {
    skip: "Aller aux résultats",
    tagline: "Recherche citée dans les documents de partenariat (FR/EN)",
    searchHeading: "Recherche",
    modeLegend: "Mode",
    modeAsk: "Poser une question",
    modeSearch: "Chercher des passages",
    modeSimilar: "Formulations similaires (presse)",
    queryLabel: "Votre question",
    queryLabelSearch: "Mots-clés ou question",
    queryLabelSimilar: "Phrase dont vous cherchez les précédents",
    queryHelp: "Entrée pour lancer la recherche. En français ou en anglais.",
    submit: "Rechercher",
    filtersLegend: "Filtres",
    filterLang: "Langue",
    filterType: "Type de document",
    filterFrom: "Du",
    filterTo: "Au",
    filterPartner: "Partenaire",
    filterDoc: "Document (identifiant)",
    any: "Tous",
    typePress: "Communiqué de presse",
    typeConvention: "Convention",
    typeWeb: "Page web",
    typeInterview: "Entretien",
    typeOther: "Autre",
    back: "← Retour aux résultats",
    searching: "Recherche en cours…",
    answer: "Réponse",
    confidence: "confiance",
    noAnswer: "Pas dans ces documents : aucun passage ne répond à cette question avec assez de confiance.",
    closest: "Passages les plus proches",
    spanType: "réponse",
    passages: "Passages à l'appui",
    results: "Passages trouvés",
    similar: "Formulations proches",
    occurs: "Apparaît dans",
    openDoc: "Voir dans le document",
    nothing: "Aucun résultat.",
    empty: "Tapez d'abord une question ou quelques mots.",
    loadingDoc: "Chargement du document…",
    cited: "Passage cité",
    undated: "sans date",
    chars: "caractères",
    page: "page",
    tookMs: "ms",
  },
  en: {
    skip: "Skip to results",
    tagline: "Cited search over partnership documents (FR/EN)",
    searchHeading: "Search",
    modeLegend: "Mode",
    modeAsk: "Ask a question",
    modeSearch: "Search passages",
    modeSimilar: "Similar wording (press office)",
    queryLabel: "Your question",
    queryLabelSearch: "Keywords or question",
    queryLabelSimilar: "Sentence to find precedents for",
    queryHelp: "Press Enter to search. French or English.",
    submit: "Search",
    filtersLegend: "Filters",
    filterLang: "Language",
    filterType: "Document type",
    filterFrom: "From",
    filterTo: "To",
    filterPartner: "Partner",
    filterDoc: "Document (id)",
    any: "All",
    typePress: "Press release",
    typeConvention: "Agreement",
    typeWeb: "Web page",
    typeInterview: "Interview",
    typeOther: "Other",
    back: "← Back to results",
    searching: "Searching…",
    answer: "Answer",
    confidence: "confidence",
    noAnswer: "Not in these documents: no passage answers this question with enough confidence.",
    closest: "Closest passages",
    spanType: "answer",
    passages: "Supporting passages",
    results: "Passages found",
    similar: "Close wordings",
    occurs: "Occurs in",
    openDoc: "Show in document",
    nothing: "No results.",
    empty: "Type a question or a few words first.",
    loadingDoc: "Loading document…",
    cited: "Cited passage",
    undated: "undated",
    chars: "chars",
    page: "page",
    tookMs: "ms",
  },
};

let uiLang = localStorage.getItem("partnersearch.lang")
  || ((navigator.language || "fr").toLowerCase().startsWith("fr") ? "fr" : "en");
const t = (key) => (I18N[uiLang] && I18N[uiLang][key]) || I18N.en[key] || key;

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function currentMode() {
  return document.querySelector('input[name="mode"]:checked').value;
}

function applyLanguage() {
  document.documentElement.lang = uiLang;
  for (const node of document.querySelectorAll("[data-i18n]")) {
    node.textContent = t(node.dataset.i18n);
  }
  for (const btn of document.querySelectorAll("[data-ui-lang]")) {
    btn.setAttribute("aria-pressed", String(btn.dataset.uiLang === uiLang));
  }
  updateQueryLabel();
}

function updateQueryLabel() {
  const mode = currentMode();
  const key = mode === "ask" ? "queryLabel" : mode === "search" ? "queryLabelSearch" : "queryLabelSimilar";
  $("#q-label").textContent = t(key);
}

// "[doc_id, date, chars start–end]" — the same citation the CLI prints.
function citation(item) {
  const date = item.date || t("undated");
  const page = item.page ? `, ${t("page")} ${item.page}` : "";
  return `[${item.doc_id}, ${date}, ${t("chars")} ${item.start}–${item.end}${page}]`;
}

function docHref(docId, start, end) {
  return `#/doc/${encodeURIComponent(docId)}?start=${start}&end=${end}`;
}

// Text with [hlStart, hlEnd) (document offsets) wrapped in <mark>; base is the text's own offset.
function highlighted(text, base, hlStart, hlEnd) {
  const frag = document.createDocumentFragment();
  if (hlStart === null || hlStart === undefined || hlEnd <= hlStart) {
    frag.append(text);
    return frag;
  }
  const a = Math.max(0, hlStart - base);
  const b = Math.min(text.length, hlEnd - base);
  frag.append(text.slice(0, a), el("mark", { text: text.slice(a, b) }), text.slice(b));
  return frag;
}

// Like highlighted(), with [spanStart, spanEnd) (inside the mark) also wrapped in <strong>.
function highlightedWithSpan(text, base, hlStart, hlEnd, span) {
  if (!span || span.start < hlStart || span.end > hlEnd) return highlighted(text, base, hlStart, hlEnd);
  const frag = document.createDocumentFragment();
  const cut = (offset) => Math.max(0, Math.min(text.length, offset - base));
  const a = cut(hlStart), s = cut(span.start), e = cut(span.end), b = cut(hlEnd);
  const mark = el("mark", {}, text.slice(a, s), el("strong", { class: "answer-span", title: `${t("spanType")}: ${span.type}`, text: text.slice(s, e) }), text.slice(e, b));
  frag.append(text.slice(0, a), mark, text.slice(b));
  return frag;
}

function filtersFromForm() {
  const filters = {};
  const lang = $("#f-lang").value;
  const type = $("#f-type").value;
  const from = $("#f-from").value;
  const to = $("#f-to").value;
  const partner = $("#f-partner").value.trim();
  const docId = $("#f-doc").value.trim();
  if (lang) filters.lang = lang;
  if (type) filters.doc_type = type;
  if (from) filters.date_from = from;
  if (to) filters.date_to = to;
  if (partner) filters.partner = partner;
  if (docId) filters.doc_id = docId;
  return Object.keys(filters).length ? filters : null;
}

async function postJSON(path, body) {
  const resp = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const message = (data.error && data.error.message) || `HTTP ${resp.status}`;
    throw new Error(message);
  }
  return data;
}

function setStatus(message, isError = false) {
  const status = $("#status");
  status.textContent = message;
  status.classList.toggle("error", isError);
}

function passageCard(p) {
  const link = el("a", { href: docHref(p.doc_id, p.highlight_start ?? p.start, p.highlight_end ?? p.end), class: "open-doc" }, t("openDoc"));
  return el(
    "li",
    { class: "passage" },
    el("h4", { class: "title", text: p.title }),
    el("p", { class: "passage-text" }, highlighted(p.text, p.start, p.highlight_start, p.highlight_end)),
    el("p", { class: "citation" }, el("cite", { text: citation(p) }), " ", link),
  );
}

function renderAsk(data) {
  const out = $("#results");
  out.replaceChildren();
  const card = el("article", { class: "answer-card", id: "answer", "aria-labelledby": "answer-heading" });
  card.append(el("h3", { id: "answer-heading", text: t("answer") }));
  const declined = data.no_answer || !data.answer;
  if (declined) {
    card.classList.add("no-answer");
    card.append(el("p", { class: "no-answer-text", text: t("noAnswer") }));
  } else {
    const a = data.answer;
    const passage = data.passages.find((p) => p.chunk_id === a.chunk_id);
    const body = passage
      ? highlightedWithSpan(passage.text, passage.start, a.start, a.end, a.span)
      : highlightedWithSpan(a.text, a.start, a.start, a.end, a.span);
    card.append(
      el("blockquote", { class: "answer-text" }, body),
      el(
        "p",
        { class: "citation" },
        el("cite", { text: `${a.title} ${citation(a)}` }),
        " ",
        el("a", { href: docHref(a.doc_id, a.start, a.end), class: "open-doc", id: "answer-link" }, t("openDoc")),
      ),
    );
  }
  card.append(el("p", { class: "meta", text: `${t("confidence")} ${(data.confidence * 100).toFixed(0)} %` }));
  out.append(card);
  if (data.passages.length) {
    out.append(
      el("h3", { id: "passages-heading", text: t(declined ? "closest" : "passages") }),
      el("ol", { class: "passages" }, ...data.passages.map(passageCard)),
    );
  }
}

// The emptied results area, or null once it says "nothing" for a response without results.
function resultsFor(data) {
  const out = $("#results");
  out.replaceChildren();
  if (data.results.length) return out;
  out.append(el("p", { text: t("nothing") }));
  return null;
}

function renderSearch(data) {
  const out = resultsFor(data);
  if (!out) return;
  out.append(el("h3", { text: t("results") }), el("ol", { class: "passages" }, ...data.results.map(passageCard)));
}

function renderSimilar(data) {
  const out = resultsFor(data);
  if (!out) return;
  const items = data.results.map((m) =>
    el(
      "li",
      { class: "wording" },
      el("blockquote", { class: "wording-text", text: m.text }),
      el("p", { class: "meta", text: `score ${m.score.toFixed(3)} — ${t("occurs")}:` }),
      el(
        "ul",
        { class: "occurrences" },
        ...m.occurrences.map((o) =>
          el(
            "li",
            {},
            el("cite", { text: `${o.title} ${citation(o)}` }),
            " ",
            el("a", { href: docHref(o.doc_id, o.start, o.end), class: "open-doc" }, t("openDoc")),
          ),
        ),
      ),
    ),
  );
  out.append(el("h3", { text: t("similar") }), el("ol", { class: "wordings" }, ...items));
}

let lastRequest = 0;

async function submit(event) {
  event.preventDefault();
  const q = $("#q").value.trim();
  if (!q) {
    setStatus(t("empty"), true);
    $("#q").focus();
    return;
  }
  const mode = currentMode();
  const filters = filtersFromForm();
  const request = ++lastRequest;
  setStatus(t("searching"));
  try {
    let data;
    if (mode === "ask") {
      data = await postJSON("/ask", { question: q, k: 10, filters });
      if (request === lastRequest) renderAsk(data);
    } else if (mode === "search") {
      data = await postJSON("/search", { query: q, k: 10, filters });
      if (request === lastRequest) renderSearch(data);
    } else {
      data = await postJSON("/similar", { text: q, k: 10, filters });
      if (request === lastRequest) renderSimilar(data);
    }
    if (request === lastRequest) setStatus(`${data.took_ms.toFixed(0)} ${t("tookMs")}`);
  } catch (err) {
    if (request === lastRequest) {
      $("#results").replaceChildren();
      setStatus(err.message, true);
    }
  }
}

async function showDocument(docId, start, end) {
  $("#search-view").hidden = true;
  $("#doc-view").hidden = false;
  $("#doc-title").textContent = t("loadingDoc");
  $("#doc-meta").textContent = "";
  $("#doc-text").replaceChildren();
  const resp = await fetch(`/documents/${encodeURIComponent(docId)}`, { headers: { Accept: "application/json" } });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    $("#doc-title").textContent = (data.error && data.error.message) || `HTTP ${resp.status}`;
    return;
  }
  $("#doc-title").textContent = data.title;
  const parts = [data.doc_id, data.date || t("undated"), data.lang, data.doc_type, data.source];
  if (data.partners && data.partners.length) parts.push(data.partners.join(", "));
  $("#doc-meta").textContent = parts.join(" · ");
  const text = data.text;
  const valid = Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end > start && end <= text.length;
  if (!valid) {
    $("#doc-text").textContent = text;
    $("#doc-title").focus();
    return;
  }
  const mark = el("mark", { id: "cited", tabindex: "-1", "aria-label": t("cited"), text: text.slice(start, end) });
  $("#doc-text").replaceChildren(text.slice(0, start), mark, text.slice(end));
  mark.scrollIntoView({ block: "center" });
  mark.focus({ preventScroll: true });
}

function route() {
  const hash = location.hash || "#/";
  const match = hash.match(/^#\/doc\/([^?]+)(?:\?(.*))?$/);
  if (match) {
    const params = new URLSearchParams(match[2] || "");
    const num = (v) => (v === null || v === "" ? NaN : Number(v));
    showDocument(decodeURIComponent(match[1]), num(params.get("start")), num(params.get("end")));
    return;
  }
  $("#doc-view").hidden = true;
  $("#search-view").hidden = false;
}

document.addEventListener("DOMContentLoaded", () => {
  $("#search-form").addEventListener("submit", submit);
  for (const radio of document.querySelectorAll('input[name="mode"]')) {
    radio.addEventListener("change", updateQueryLabel);
  }
  for (const btn of document.querySelectorAll("[data-ui-lang]")) {
    btn.addEventListener("click", () => {
      uiLang = btn.dataset.uiLang;
      localStorage.setItem("partnersearch.lang", uiLang);
      applyLanguage();
    });
  }
  $("#back").addEventListener("click", (event) => {
    if (history.length > 1) {
      event.preventDefault();
      history.back();
    }
  });
  window.addEventListener("hashchange", route);
  applyLanguage();
  route();
  if (!$("#search-view").hidden) $("#q").focus();
});
