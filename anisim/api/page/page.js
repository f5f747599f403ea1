// anisim's search page: plain JavaScript talking only to this service (/v1/search, /v1/similar,
// /v1/facets). The whole search state lives in the URL, so a search can be shared, reloaded, and
// walked back and forth with the browser's buttons.
"use strict";

const PAGE_SIZE = 10;
const STOP_WORDS = new Set(("a an and are as at be by for from has he her his in is it its of on or she " +
  "that the their them they this to was who with into after about over when where while").split(" "));

const $ = (selector) => document.querySelector(selector);
const form = $("#search"), box = $("#q"), statusLine = $("#status"), results = $("#results");
let facets = null;      // the current kind's /v1/facets answer
let latest = 0;         // number of the newest request: older answers are dropped

// ---- state <-> URL ---------------------------------------------------------------------------

function emptyState() {
  return { q: "", kind: "anime", page: 1, mode: "hybrid", genres: [], exclude: [], types: [],
           year_min: "", year_max: "", min_score: "", hide_adult: false, like: null, likeTitle: "", ignore: [] };
}

function stateFromUrl() {
  const p = new URLSearchParams(location.search), s = emptyState();
  s.q = p.get("q") || "";
  s.kind = p.get("kind") === "manga" ? "manga" : "anime";
  s.page = Math.max(1, parseInt(p.get("page") || "1", 10) || 1);
  s.mode = ["hybrid", "dense", "lexical"].includes(p.get("mode")) ? p.get("mode") : "hybrid";
  s.genres = p.getAll("genre"); s.exclude = p.getAll("not"); s.types = p.getAll("type");
  s.year_min = p.get("from") || ""; s.year_max = p.get("to") || ""; s.min_score = p.get("score") || "";
  s.hide_adult = p.get("adult") === "hide";
  s.like = parseInt(p.get("like") || "", 10) || null;
  s.likeTitle = p.get("title") || "";
  s.ignore = p.getAll("ignore").filter((c) => CUE_WORDS[c]);
  return s;
}

function urlFromState(s) {
  const p = new URLSearchParams();
  if (s.q) p.set("q", s.q);
  if (s.kind !== "anime") p.set("kind", s.kind);
  if (s.like) { p.set("like", s.like); p.set("title", s.likeTitle); }
  if (s.page > 1) p.set("page", s.page);
  if (s.mode !== "hybrid") p.set("mode", s.mode);
  s.genres.forEach((g) => p.append("genre", g));
  s.exclude.forEach((g) => p.append("not", g));
  s.types.forEach((t) => p.append("type", t));
  if (s.year_min) p.set("from", s.year_min);
  if (s.year_max) p.set("to", s.year_max);
  if (s.min_score) p.set("score", s.min_score);
  if (s.hide_adult) p.set("adult", "hide");
  s.ignore.forEach((c) => p.append("ignore", c));
  const query = p.toString();
  return query ? `/?${query}` : "/";
}

// ---- form <-> state --------------------------------------------------------------------------

function stateFromForm(base) {
  const s = { ...base };
  s.q = box.value.trim();
  s.kind = form.querySelector("input[name=kind]:checked").value;
  s.mode = $("#mode").value;
  s.genres = chipValues("include"); s.exclude = chipValues("exclude");
  s.types = [...document.querySelectorAll("#types input:checked")].map((c) => c.value);
  s.year_min = $("#year_min").value.trim(); s.year_max = $("#year_max").value.trim();
  s.min_score = $("#min_score").value.trim(); s.hide_adult = $("#hide_adult").checked;
  return s;
}

function showStateInForm(s) {
  box.value = s.q;
  form.querySelector(`input[name=kind][value=${s.kind}]`).checked = true;
  $("#mode").value = s.mode;
  $("#year_min").value = s.year_min; $("#year_max").value = s.year_max; $("#min_score").value = s.min_score;
  $("#hide_adult").checked = s.hide_adult;
  document.querySelectorAll(".facet-chips button").forEach((b) => {
    const name = b.dataset.name;
    setChip(b, s.genres.includes(name) ? "include" : s.exclude.includes(name) ? "exclude" : "");
  });
  document.querySelectorAll("#types input").forEach((c) => { c.checked = s.types.includes(c.value); });
  countFilters(s);
}

function countFilters(s) {
  const n = s.genres.length + s.exclude.length + s.types.length + [s.year_min, s.year_max, s.min_score]
    .filter(Boolean).length + (s.hide_adult ? 1 : 0);
  $("#filter-count").textContent = n ? `(${n})` : "";
}

// ---- facets ----------------------------------------------------------------------------------

const CHIP_NEXT = { "": "include", include: "exclude", exclude: "" };
const CHIP_WORD = { "": "not used", include: "required", exclude: "excluded" };

function setChip(button, state) {
  button.dataset.state = state;
  button.setAttribute("aria-label", `${button.dataset.name}: ${CHIP_WORD[state]}`);
}

function chipValues(state) {
  return [...document.querySelectorAll(`.facet-chips button[data-state="${state}"]`)].map((b) => b.dataset.name);
}

async function loadFacets(kind) {
  const tags = $("#tags"), types = $("#types");
  tags.replaceChildren(); types.replaceChildren();
  facets = null;
  let answer;
  try {
    answer = await fetch(`/v1/facets?kind=${kind}`);
  } catch (error) {
    tags.textContent = "Filters are unavailable: the service could not be reached.";
    return;
  }
  if (!answer.ok) {
    tags.textContent = `Filters are unavailable right now (${await errorText(answer)}).`;
    return;
  }
  facets = await answer.json();
  for (const [field, heading] of [["genres", "Genres"], ["themes", "Themes"], ["demographics", "Demographics"]]) {
    if (!facets[field].length) continue;
    const group = document.createElement("div"), title = document.createElement("h3");
    const chips = document.createElement("div");
    title.textContent = heading; chips.className = "facet-chips"; chips.setAttribute("role", "group");
    chips.setAttribute("aria-label", heading);
    for (const { name, count } of facets[field]) {
      const button = document.createElement("button"), n = document.createElement("span");
      button.type = "button"; button.dataset.name = name; button.append(name);
      n.className = "n"; n.textContent = count.toLocaleString("en"); n.setAttribute("aria-hidden", "true");
      button.append(n); setChip(button, "");
      button.addEventListener("click", () => { setChip(button, CHIP_NEXT[button.dataset.state]); filtersChanged(); });
      chips.append(button);
    }
    group.append(title, chips); tags.append(group);
  }
  for (const { name, count } of facets.types) {
    const label = document.createElement("label"), input = document.createElement("input");
    input.type = "checkbox"; input.value = name;
    input.addEventListener("change", filtersChanged);
    label.append(input, ` ${name} (${count.toLocaleString("en")})`);
    types.append(label);
  }
  $("#year_min").placeholder = facets.years.min ?? ""; $("#year_max").placeholder = facets.years.max ?? "";
}

// ---- searching -------------------------------------------------------------------------------

function requestFor(s) {
  const filters = {};
  if (s.genres.length) filters.genres = s.genres;
  if (s.exclude.length) filters.exclude_genres = s.exclude;
  if (s.types.length) filters.types = s.types;
  for (const key of ["year_min", "year_max"]) {
    if (s[key] !== "") filters[key] = Number.isInteger(Number(s[key])) ? Number(s[key]) : s[key];
  }
  if (s.min_score !== "") filters.min_score = Number.isNaN(Number(s.min_score)) ? s.min_score : Number(s.min_score);
  if (s.hide_adult) filters.exclude_adult = true;
  const common = { kind: s.kind, page: s.page, page_size: PAGE_SIZE, filters };
  if (s.like) return ["/v1/similar", { ...common, id: s.like }];
  return ["/v1/search", { ...common, query: s.q, mode: s.mode, ignore_cues: s.ignore }];
}

async function errorText(answer) {
  try {
    const body = await answer.json();
    if (body && typeof body.error === "string") return body.error;
  } catch (error) { /* not JSON: fall through */ }
  return `HTTP ${answer.status}`;
}

async function explain(answer) {
  const message = await errorText(answer), wait = answer.headers.get("Retry-After");
  const later = wait ? ` Try again in ${wait} s.` : " Try again shortly.";
  if (answer.status === 429) return `Too many searches in a short time.${later}`;
  if (answer.status === 503) return `Search is not available right now: ${message}.${later}`;
  if (answer.status >= 500) return `Something went wrong on the server (HTTP ${answer.status}).`;
  return `The search could not be run: ${message}`;
}

function say(text, kind = "") {
  statusLine.textContent = text;
  statusLine.className = kind;
}

async function run(s, focusResults = false) {
  countFilters(s);
  if (!s.q && !s.like) {
    results.hidden = true;
    say("");
    return;
  }
  const number = ++latest;
  const [path, body] = requestFor(s);
  say("Searching…", "loading");
  results.setAttribute("aria-busy", "true");
  $("#go").disabled = true;
  let answer;
  try {
    answer = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
                                 body: JSON.stringify(body) });
  } catch (error) {
    if (number === latest) failed("The service could not be reached. Is it running?");
    return;
  }
  if (number !== latest) return;
  if (!answer.ok) {
    failed(await explain(answer));
    return;
  }
  const page = await answer.json();
  if (number !== latest) return;
  $("#go").disabled = false;
  results.removeAttribute("aria-busy");
  show(s, page);
  if (focusResults) $("#summary").focus();
}

function failed(message) {
  $("#go").disabled = false;
  results.removeAttribute("aria-busy");
  results.hidden = true;
  say(message, "error");
}

// ---- showing results -------------------------------------------------------------------------

function show(s, page) {
  const cards = $("#cards");
  cards.replaceChildren();
  results.hidden = false;
  const first = (page.page - 1) * page.page_size + 1, last = first + page.results.length - 1;
  const what = s.like ? `Titles like “${s.likeTitle || `#${s.like}`}”` : `Results for “${s.q}”`;
  $("#summary").textContent = what;
  if (!page.results.length) {
    say(page.total ? `No results on this page: there are ${page.total.toLocaleString("en")} in all.`
                   : "No titles match. Try fewer filters or other words.");
    $("#range").textContent = "";
  } else {
    const range = `${first}-${last} of ${page.total.toLocaleString("en")}`;
    $("#range").textContent = range;
    // A hybrid search answered in lexical mode: the meaning index is still being built.
    const keywordsOnly = !s.like && s.mode === "hybrid" && page.mode === "lexical";
    say(`${range} ${s.kind} titles.` + (keywordsOnly
      ? " Matched by keywords only: the meaning index is still being built, so try again in a few minutes." : ""));
  }
  showCues(s, page.understood);
  const words = queryWords(s.like ? "" : s.q);
  page.results.forEach((record) => cards.append(card(record, words, s)));
  $("#prev").disabled = page.page <= 1;
  $("#next").disabled = !page.has_more;
}

// ---- what the search understood: one removable chip per cue ---------------------------------

const CUE_WORDS = { types: "type", years: "era", names: "made by", audience: "audience", genres: "about",
                    dubbed: "dubbed" };

function cueLabel(name, value) {
  if (name === "types") return value.map((t) => (t === "Movie" ? "movies" : t === "TV" ? "TV series" : t)).join(" or ");
  if (name === "years") {
    const [low, high] = value;
    if (low === null) return `before ${high + 1}`;
    if (high === null) return `from ${low}`;
    return low % 10 === 0 && high === low + 9 ? `${low}s` : `${low}–${high}`;
  }
  if (name === "dubbed") return "dubbed / shown abroad";
  if (name === "audience") return value.map((a) => (a === "Mature" ? "for adults (rated R)" : a === "Kids" ? "for kids" : a)).join(", ");
  return value.join(", ");
}

function showCues(s, understood) {
  const row = $("#cues"), list = row.querySelector("ul");
  list.replaceChildren();
  const found = Object.keys(CUE_WORDS).filter((name) => understood && understood[name] !== undefined);
  row.hidden = !found.length;
  for (const name of found) {
    const li = document.createElement("li"), button = document.createElement("button");
    const label = cueLabel(name, understood[name]);
    button.type = "button"; button.dataset.cue = name;
    button.textContent = `${label} ×`;
    button.setAttribute("aria-label", `Stop using the cue ${CUE_WORDS[name]}: ${label}`);
    button.addEventListener("click", () => {
      current = { ...current, ignore: [...current.ignore, name], page: 1 };
      go(current);
    });
    li.append(button); list.append(li);
  }
}

function card(record, words, s) {
  const node = $("#card-template").content.firstElementChild.cloneNode(true);
  const title = record.title || record.title_english || `#${record.id}`;
  node.querySelector(".rank").textContent = `#${record.rank}`;
  node.querySelector(".cover").prepend(cover(record.image_url, title));
  const link = node.querySelector("a.mal");
  link.textContent = title; link.href = record.url;
  node.querySelector(".mal-link").href = record.url;
  node.querySelector(".mal-link").setAttribute("aria-label", `${title} on MyAnimeList`);
  if (record.title_english && record.title_english !== title) node.querySelector(".english").textContent = record.title_english;
  node.querySelector(".meta").textContent = metaLine(record);
  node.querySelector(".makers").textContent = makersLine(record);
  const chips = node.querySelector(".chips");
  for (const [field, cls] of [["genres", "genre"], ["themes", "theme"], ["demographics", "demographic"]]) {
    for (const tag of record[field] || []) {
      const li = document.createElement("li");
      li.className = cls; li.textContent = tag; chips.append(li);
    }
  }
  node.querySelector(".matched figcaption").textContent = s.like ? "Closest passage" : "Matched passage";
  node.querySelector(".matched blockquote").append(highlighted(record.matched || record.synopsis || "", words));
  if (record.related && record.related.length) showRelated(node.querySelector(".related"), record.related);
  if (record.kind === "anime") episodesOnOpen(node.querySelector(".episodes"), record);
  const like = node.querySelector("button.like");
  like.setAttribute("aria-label", `More like ${title}`);
  like.addEventListener("click", () => {
    current = { ...stateFromForm(s), like: record.id, likeTitle: title, page: 1 };
    go(current, true);
  });
  return node;
}

function cover(url, title) {
  const placeholder = document.createElement("div");
  placeholder.className = "placeholder"; placeholder.setAttribute("role", "img");
  placeholder.setAttribute("aria-label", `No cover image for ${title}`);
  placeholder.textContent = "No cover";
  if (!url) return placeholder;
  const img = document.createElement("img");
  img.src = url; img.alt = `Cover of ${title}`; img.referrerPolicy = "no-referrer";
  img.addEventListener("error", () => img.replaceWith(placeholder), { once: true });
  return img;
}

function metaLine(r) {
  const parts = [r.type, r.start_year];
  if (r.episodes) parts.push(`${r.episodes} episode${r.episodes === 1 ? "" : "s"}`);
  if (r.chapters) parts.push(`${r.chapters} chapter${r.chapters === 1 ? "" : "s"}`);
  if (r.volumes) parts.push(`${r.volumes} volume${r.volumes === 1 ? "" : "s"}`);
  parts.push(r.score ? `score ${r.score.toFixed(2)}` : "no score");
  parts.push(`similarity ${r.similarity.toFixed(3)}`);
  return parts.filter((p) => p !== null && p !== undefined && p !== "").join(" · ");
}

function makersLine(r) {
  const parts = [];
  if (r.studios && r.studios.length) parts.push(r.studios.join(", "));
  if (r.source_material) parts.push(`from ${r.source_material.toLowerCase()}`);
  if (r.episode_minutes) parts.push(`${r.episode_minutes} min${r.episodes === 1 ? "" : " per episode"}`);
  if (r.authors && r.authors.length) parts.push(`by ${r.authors.join(", ")}`);
  if (r.serialization && r.serialization.length) parts.push(`in ${r.serialization.join(", ")}`);
  return parts.join(" · ");
}

// The franchise, one click away: each related title by name, linked to its MyAnimeList page.
// A relation with no known title is left out rather than shown as a bare id.
const RELATED_SHOWN = 8;

function showRelated(line, related) {
  const named = related.filter((r) => r.title);
  if (!named.length) return;
  line.append("Related: ");
  named.slice(0, RELATED_SHOWN).forEach((r, i) => {
    if (i) line.append(", ");
    const a = document.createElement("a");
    a.href = r.url; a.target = "_blank"; a.rel = "noopener noreferrer"; a.textContent = r.title;
    line.append(a, ` (${r.relation.toLowerCase().replace(/_/g, " ")})`);
  });
  if (named.length > RELATED_SHOWN) line.append(", …");
}

// A series' English episode titles ("which episode was it?"), fetched from /v1/title the first
// time the list is opened: too long to send with every page of results.
function episodesOnOpen(details, record) {
  details.hidden = false;
  details.addEventListener("toggle", async () => {
    if (!details.open || details.dataset.loaded) return;
    details.dataset.loaded = "1";
    const list = details.querySelector("ol");
    let titles = [];
    try {
      const answer = await fetch(`/v1/title?kind=anime&id=${record.id}`);
      if (answer.ok) titles = (await answer.json()).episode_titles || [];
    } catch (_) { /* shown as none known */ }
    if (!titles.length) {
      details.querySelector("summary").textContent = "Episode titles: none known";
      return;
    }
    details.querySelector("summary").textContent = `Episode titles (${titles.length})`;
    for (const title of titles) {
      const li = document.createElement("li");
      li.textContent = title; list.append(li);
    }
  });
}

// Query words worth marking: 3+ letters, not stop words; each matches words that start with its
// stem (its first letters), so "outlives" also marks "outlived".
function queryWords(query) {
  const words = (query.toLowerCase().match(/\p{L}[\p{L}\p{N}'’]*/gu) || [])
    .filter((w) => w.length >= 3 && !STOP_WORDS.has(w));
  return [...new Set(words.map((w) => (w.length > 5 ? w.slice(0, w.length - 2) : w)))];
}

function highlighted(text, stems) {
  const out = document.createDocumentFragment();
  for (const piece of text.split(/(\p{L}[\p{L}\p{N}'’]*)/u)) {
    const lower = piece.toLowerCase();
    if (piece && stems.some((stem) => lower.startsWith(stem))) {
      const mark = document.createElement("mark");
      mark.textContent = piece; out.append(mark);
    } else if (piece) {
      out.append(piece);
    }
  }
  return out;
}

// ---- wiring ----------------------------------------------------------------------------------

function go(s, focusResults = false) {
  history.pushState(null, "", urlFromState(s));
  run(s, focusResults);
}

let current = stateFromUrl();

function filtersChanged() {
  current = { ...stateFromForm(current), page: 1 };
  countFilters(current);
  if (current.q || current.like) go(current);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const s = { ...stateFromForm(current), page: 1, like: null, likeTitle: "", ignore: [] };
  if (!s.q) {
    results.hidden = true;
    say("Type a description of the story first, e.g. “a boy reborn as a slime in another world”.", "error");
    box.focus();
    return;
  }
  current = s;
  go(s);
});

box.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    form.requestSubmit();
  }
});

form.querySelectorAll("input[name=kind]").forEach((radio) => radio.addEventListener("change", async () => {
  current = { ...stateFromForm(current), genres: [], exclude: [], types: [], like: null, page: 1 };
  await loadFacets(current.kind);
  showStateInForm(current);
  if (current.q) go(current);
}));

for (const id of ["#year_min", "#year_max", "#min_score", "#hide_adult"]) $(id).addEventListener("change", filtersChanged);
$("#mode").addEventListener("change", filtersChanged);
$("#clear-filters").addEventListener("click", () => {
  current = { ...current, genres: [], exclude: [], types: [], year_min: "", year_max: "", min_score: "",
              hide_adult: false, page: 1 };
  showStateInForm(current);
  if (current.q || current.like) go(current);
});
$("#prev").addEventListener("click", () => { current = { ...current, page: current.page - 1 }; go(current, true); });
$("#next").addEventListener("click", () => { current = { ...current, page: current.page + 1 }; go(current, true); });

window.addEventListener("popstate", async () => {
  const kind = current.kind;
  current = stateFromUrl();
  if (current.kind !== kind) await loadFacets(current.kind);
  showStateInForm(current);
  run(current);
});

(async () => {
  await loadFacets(current.kind);
  showStateInForm(current);
  run(current);
  if (!current.q && !current.like) box.focus();
})();
