"""Query understanding: what a person's description says about the title itself, and the text to search.

A real description ("[TOMT][MOVIE][90s] anime with giant insects... thanks in advance!") mixes the
story with forum tags, meta-talk and cues about the title: its type ("a movie"), its era ("late
90s"), who made it ("Ghibli"), its audience ("a kids show"), its genre ("giant robots"), whether it
was dubbed. `understand` splits them apart: a cleaned text for the encoder and BM25, and `Cues`,
which the search turns into soft score terms (`anisim.priors`), never filters: people misremember.
Every rule is a row of a table below, in general language, so a newcomer can read, test and extend
them one at a time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal, get_args

# Words that name a type of title -> MAL's type names. Checked on the forum tags and the prose; a
# generic "on TV" ("I saw it on TV") says where it was seen, not what it is, and is skipped.
TYPE_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (  # most specific first: a match is used up
    (r"\b(?:ova|oav)s?\b", ("OVA",)),
    (r"\b(?:ona|web ?series|web anime)\b", ("ONA",)),
    # the noun ("a Christmas special", "the special episode"), not the adjective ("her special power")
    (r"\b(?:tv|television|christmas|holiday|halloween|bonus|recap|one-hour) specials?\b|\bspecials\b|"
     r"\b(?:a|an|the|this|that) special(?=\s*(?:[.,;:!?)]|$|(?:about|where|in which|that|which|was|is|of|called|"
     r"featuring|episodes?)\b))", ("Special", "TV Special")),
    (r"\b(?:manhwa|webtoons?|korean comics?)\b", ("Manhwa",)),
    (r"\bmanhua\b", ("Manhua",)),
    (r"\blight ?novels?\b", ("Light Novel",)),
    (r"\bone[- ]?shots?\b", ("One-shot",)),
    (r"\bmanga\b", ("Manga",)),
    (r"\b(?:movies?|films?|feature)\b", ("Movie",)),
    (r"\b(?:tv|television|series|show|shows|episodes?|seasons?)\b", ("TV",)),
)
# Where a person saw it rather than what it is: removed before type words are read.
_NOT_A_TYPE = re.compile(r"\b(?:on|from|in) (?:the )?(?:tv|television)\b|\btv (?:channel|station|network)s?\b|"
                         r"\b(?:tv|television) (?:when|as|back)\b|\bseries of\b|\bshow(?:s|ed|ing)? (?:up|me|us|him|her|them)\b",
                         re.IGNORECASE)

# Audience words -> MAL demographics, and "Mature", which `anisim.priors` reads as an R rating. "As
# a kid" says who watched it, not who it was for: only a show/movie "for kids" or a "kids'/children's
# show" is a kids' title.
AUDIENCE_RULES: tuple[tuple[str, str], ...] = (
    (r"\b(?:kids?'?|children'?s?|childrens) (?:show|shows|movie|movies|film|films|cartoon|cartoons|anime|series)\b"
     r"|(?<!not )(?<!not meant )\bfor (?:kids|children|little ones)\b", "Kids"),
    (r"\bshou?jo\b", "Shoujo"),
    (r"\bshou?nen\b", "Shounen"),
    (r"\bseinen\b", "Seinen"),
    (r"\bjosei\b", "Josei"),
    # for grown-ups, as its rating says: MAL's "R - 17+" and "R+" (not a demographic: `priors` reads ratings)
    (r"\brated r\b|\br[- ]rated\b|\bfor adults\b|\badults? only\b|\bmature (?:themes|content|audiences?)\b|"
     r"\badult (?:anime|animation|cartoons?|movies?|films?|shows?|themes|content)\b|\bnot (?:meant )?for (?:kids|children)\b|"
     r"\bgory\b|\bgore\b|\bnudity\b|\bsex scenes?\b", "Mature"),
)
# What it is about, in everyday words -> MAL's genres and themes ("giant robots" is Mecha). Only
# words that name a kind of story; a word with many senses ("magic", "band") is left out.
GENRE_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"\b(?:giant |big )?robots?\b|\bmecha\b|\bmechs?\b|\bgundams?\b", ("Mecha",)),
    (r"\bvampires?\b", ("Vampire",)),
    (r"\bsamurais?\b|\bronin\b", ("Samurai",)),
    (r"\bhorror\b|\bscary\b|\bcreepy\b|\bterrifying\b", ("Horror",)),
    (r"\bouter space\b|\bspace ?(?:ships?|crafts?|stations?)\b|\bstarships?\b|\bgalax(?:y|ies)\b", ("Space",)),
    (r"\btime[- ]travel\w*|\btravel\w* (?:back )?(?:in|through) time\b", ("Time Travel",)),
    (r"\bmagic(?:al)? girls?\b|\bmahou shou?jo\b", ("Mahou Shoujo",)),
    (r"\bisekai\b|\b(?:another|other|different|parallel|fantasy) world\b", ("Isekai",)),
    (r"\breincarnat\w*|\breborn\b", ("Reincarnation",)),
    (r"\bmartial arts?\b|\bkung[- ]?fu\b|\bkarate\b", ("Martial Arts",)),
    (r"\bsoldiers?\b|\barm(?:y|ies)\b|\bmilitary\b|\bwars?\b", ("Military",)),
    (r"\bsports?\b|\b(?:base|basket|volley|foot)ball\b|\bsoccer\b|\btennis\b|\bboxing\b", ("Sports",)),
    (r"\bromance\b|\bromantic\b|\b(?:falls?|fell|falling) in love\b|\blove story\b", ("Romance",)),
    (r"\bghosts?\b|\bspirits?\b|\bdemons?\b|\byou?kai\b|\bsupernatural\b", ("Supernatural",)),
    (r"\bdragons?\b|\bwizards?\b|\bsorcer\w+|\bwitch(?:es)?\b|\belf\b|\belves\b|\bfantasy\b", ("Fantasy",)),
    (r"\bsci-?fi\b|\bscience fiction\b|\bfuturistic\b|\bcyborgs?\b|\baliens?\b|\bandroids?\b", ("Sci-Fi",)),
    (r"\bcomedy\b|\bfunny\b|\bhilarious\b", ("Comedy",)),
    (r"\bdetectives?\b", ("Detective",)),
    (r"\bidols?\b", ("Idols (Female)", "Idols (Male)")),
    (r"\bvideo ?games?\b|\bvirtual reality\b|\b(?:vr)?mmo(?:rpg)?s?\b", ("Video Game",)),
    (r"\b(?:high )?school\b|\bclassmates?\b", ("School",)),
)
# It reached an English-speaking audience: dubbed, or on a Western channel.
DUBBED = re.compile(r"\b(?:dubbed|english dub|dub(?:bed)? in english|aired (?:in|on) (?:the )?(?:us|usa|uk|america)|"
                    r"toonami|cartoon network|adult swim|nickelodeon|4kids|animax|jetix|fox kids|kids ?wb|"
                    r"vhs|dvd)\b", re.IGNORECASE)

# Eras. Years from 1917 (the first anime) to 2039; decades "90s", "'90s", "1990s", "nineties".
_YEAR = r"(?:19[1-9]\d|20[0-3]\d)"
_DECADE_WORDS = {"twenties": 20, "thirties": 30, "forties": 40, "fifties": 50, "sixties": 60, "seventies": 70,
                 "eighties": 80, "nineties": 90}
_DECADE = (r"(?:(?P<century>19|20)?(?P<tens>[0-9])0\s?'?’?s|'(?P<short>[0-9])0\s?s|"
           r"(?P<word>" + "|".join(_DECADE_WORDS) + r")|(?P<naughts>2000\s?'?’?s|00\s?'?’?s|noughties|aughts))")
_PART = r"(?:(?P<part>early|mid|middle|late)[\s-]*)?"
# Whole words only: "Mach 20 speeds", "720 seconds" and "Year 7380" name no decade.
_ERA = re.compile(rf"(?<!\w){_PART}(?:{_DECADE}|(?P<year>{_YEAR})(?P<approx>\s?ish|\+|\s?or so)?)(?!\w)", re.IGNORECASE)
# When the story is set ("the year is 2022", "in AD 2008", "set in the 1920s") is not when the
# title came out: removed before eras are read.
_STORY_TIME = re.compile(rf"\b(?:the year is|in the year|(?:a\.?d|c\.?e)\.?|set (?:in|during) (?:the )?|"
                         rf"takes? place (?:in|during) (?:the )?)\s*{_PART}(?:{_YEAR}|(?:19|20)?\d0\s?'?’?s)\b", re.IGNORECASE)
# "I watched it in 2005", "saw it as a kid in 2005-2006": the title is from then or before.
_SEEN_IN = re.compile(rf"\b(?:watched|saw|seen|remember(?:ed)?|watching|seeing|rented|bought|grew up)\b[^.?!\n]{{0,40}}?"
                      rf"\b(?:in|around|back in|circa|about) (?:the )?(?:year )?(?P<year>{_YEAR})"
                      rf"(?:\s?(?:-|–|to|or)\s?(?P<until>{_YEAR}|\d\d))?\b", re.IGNORECASE)
# A sentence about the person's own viewing rather than the title: an era it names is when they saw
# it, and a genre word in it ("in school", "my classmates") is about their life, not the story.
VIEWING = re.compile(r"\b(?:i|we)\b[^.?!\n]{0,60}\b(?:watch(?:ed|ing)?|saw|seen|rent(?:ed)?|bought|grew up)\b|"
                     r"\b(?:when|while|back when) (?:i|we) (?:was|were)\b|\bas an? (?:kid|child|teen|teenager|toddler)\b|"
                     r"\b(?:my|our) childhood\b|\bi was (?:little|young|small|a kid|a child)\b|"
                     r"\bin (?:primary|elementary|middle|grade|high)? ?school\b|\b(?:this|that|it) was back in\b", re.IGNORECASE)
VIEWED_BACK_YEARS = 10
# How wide an era is: a decade part covers about four years (with overlap), an approximate year two.
_PART_SPANS = {None: (0, 9), "early": (0, 4), "mid": (3, 7), "middle": (3, 7), "late": (6, 9)}

# Forum tags ("[TOMT]", "[MOVIE][2000s?]") and their opening words, edits and sign-offs.
_TAG = re.compile(r"\[[^\[\]\n]{0,40}\]|\(\s*(?:tomt|solved|edit)[^)]{0,40}\)|\btomt\b:?", re.IGNORECASE)
# People's words -> the words synopses use for the same thing: added to the text searched, so BM25
# and the encoder both see them ("reborn as a slime" is told as "reincarnated as a slime").
EXPANSIONS: tuple[tuple[str, str], ...] = (
    (r"\breborn\b|\bre-?born\b", "reincarnated"),
    (r"\breincarnat\w*", "reborn"),
    (r"\bisekai\b", "transported to another world"),
    (r"\bgiant robots?\b|\bbig robots?\b", "mecha"),
    (r"\bmecha\b", "giant robots"),
    (r"\bmagic(?:al)? girls?\b", "mahou shoujo"),
)
# Meta-talk: about the search for the title, not the title. Removed as phrases; a sentence left
# with (almost) nothing else is dropped.
META_RULES: tuple[str, ...] = (
    r"\b(?:thanks?|thank you|thx|ty)\b[^.?!\n]*",
    r"\b(?:please|pls|plz) help\b[^.?!\n]*|\bhelp (?:me|please|needed)\b[^.?!\n]*|\bany help\b[^.?!\n]*",
    r"\b(?:does )?any ?(?:one|body) (?:know|remember|recognize|recognise|have|help|seen)\b[^.?!\n]*",
    r"\bany (?:ideas?|thoughts|suggestions|leads)\b[^.?!\n]*",
    r"\b(?:edit|update|solved|ps)\s*\d*\s*:[^\n]*",
    r"\b(?:i )?(?:can'?t|cannot|can not|don'?t|do not|couldn'?t) (?:remember|recall|find|think of)\b"
    r"[^.?!\n]{0,30}\b(?:name|title|called)\b[^.?!\n]*",
    r"\b(?:it'?s|this has) been (?:bugging|bothering|driving|haunting)\b[^.?!\n]*",
    r"\btip of my tongue\b|\bthis sub(?:reddit)?\b|\breddit\b|/?r/\w+",
    r"\bi(?:'ve| have)? (?:tried|searched|googled|looked)\b[^.?!\n]*",
    r"\bsorry (?:for|if|about)\b[^.?!\n]*|\benglish (?:is not|isn'?t) my first language\b",
    r"\b(?:i )?(?:don'?t|do not) remember (?:much|a lot|many details)\b[^.?!\n]*",
)
# Hedges: the words around a memory, not the memory.
HEDGES = re.compile(r"\b(?:i think|i believe|i guess|i'?m (?:not )?(?:pretty |fairly )?sure|maybe|probably|possibly|"
                    r"perhaps|i (?:want|wanna) to say|if i recall(?: correctly)?|iirc|kind of|sort of)\b,?",
                    re.IGNORECASE)
_META = re.compile("|".join(f"(?:{rule})" for rule in META_RULES), re.IGNORECASE)
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
_MIN_SENTENCE_WORDS = 3
# A name said as a comparison ("Ghibli-like", "like Ghibli", "Ghibli style") is about the look,
# not the maker: it is not a cue.
_LIKENESS_BEFORE = re.compile(r"(?:like|similar to|reminds? (?:me )?of|style of|in the style of|inspired by)\s+(?:a\s+|the\s+)?$",
                              re.IGNORECASE)
_LIKENESS_AFTER = re.compile(r"^\s*[-\s]?(?:like|esque|ish|style|inspired|vibes?|type)\b", re.IGNORECASE)


CueName = Literal["types", "years", "names", "audience", "genres", "dubbed"]
CUE_NAMES: tuple[str, ...] = get_args(CueName)


@dataclass(frozen=True)
class Cues:
    """What a description says about the title itself (each empty when it says nothing)."""

    types: tuple[str, ...] = ()
    years: tuple[int | None, int | None] | None = None  # the start year's likely range, inclusive
    names: tuple[str, ...] = ()     # catalog studios, authors or magazines it names
    audience: tuple[str, ...] = ()  # MAL demographics
    genres: tuple[str, ...] = ()    # MAL genres and themes
    dubbed: bool = False

    def without(self, names: Iterable[str]) -> Cues:
        """These cues less the named ones (a person removed them: "it was not a movie")."""
        empty = Cues()
        return replace(self, **{name: getattr(empty, name) for name in names})

    def as_dict(self) -> dict[str, object]:
        """The wire form (v1 `understood`): only the cues that were found."""
        out: dict[str, object] = {}
        if self.types:
            out["types"] = list(self.types)
        if self.years:
            out["years"] = list(self.years)
        if self.names:
            out["names"] = list(self.names)
        if self.audience:
            out["audience"] = list(self.audience)
        if self.genres:
            out["genres"] = list(self.genres)
        if self.dubbed:
            out["dubbed"] = True
        return out


NO_CUES = Cues()


@dataclass(frozen=True)
class Understood:
    """The text to search and the cues; `text` is never blank when the description was not."""

    text: str
    cues: Cues = NO_CUES


def name_core(name: str) -> str:
    """A maker name less a leading "Studio" ("Studio Ghibli" -> "Ghibli"): what a person may write."""
    return re.sub(r"^studio\s+", "", name.strip(), flags=re.IGNORECASE)


def name_word(name: str) -> str | None:
    """The lower-case word a one-word maker name comes to ("Studio Zero" -> "zero", "feel." ->
    "feel"), to look up among a catalog's words; None for a name of several words."""
    core = name_core(name)
    return None if " " in core else core.lower().rstrip(".!?")


def _alternation(words: list[str]) -> str:
    """A regex that matches any of the words, the longest one that fits first (so a name is not
    read as a shorter one), shaped as a trie of their characters: at each position the engine
    follows one path, so the cost grows with a name's length, not with how many names there are
    (a flat alternation of 6,000 manga makers tried each at every position: 261 ms of 288 on 5,000
    apostrophes)."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here

    def pattern(node: dict[str, dict]) -> str:
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if "" in node:
            branches.append("")  # ending here is tried last: the longest name first
        return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"

    return pattern(trie)


class Names:
    """The catalog's maker names (studios, authors, magazines) a description can mention.

    A name is found case-insensitively ("studio ghibli", "Ghibli": a leading "Studio" is optional)
    when it is distinctive; a name that is also an everyday word ("Bones", "Sunrise", "Trigger") is
    found after "studio", or capitalised and not at a sentence's start; a name that the catalog's
    stories use for someone or something else ("Gohan", "Zero", "World" in "World Cup": `storied`)
    only after "studio"."""

    def __init__(self, names: Iterable[str], everyday_words: set[str] = frozenset(),
                 storied: set[str] = frozenset()) -> None:
        self.names: dict[str, str] = {}  # the lower-case core ("ghibli") -> the catalog's name
        distinctive, everyday, ambiguous = [], [], []
        for name in sorted(names, key=lambda n: (n.isupper(), n)):  # "Madhouse" rather than "MADHOUSE"
            core = name_core(name)
            if len(core) < 4 or core.lower() in self.names:
                continue
            self.names[core.lower()] = name
            word = name_word(core)
            if word in storied or word in everyday_words:
                ambiguous.append(core)
                if word not in storied:  # a studio that writes itself "drop" is "Drop" in prose
                    everyday.append(core[:1].upper() + core[1:])
            else:
                distinctive.append(core)
        # one alternation per kind
        self.patterns = [re.compile(rf"{before}(?<![\w-])({_alternation(cores)})(?![\w-])", flags)
                         for cores, before, flags in (
                             (distinctive, r"(?:studio\s+)?", re.IGNORECASE),
                             (everyday, r"(?<![.!?]\s)(?<!^)", 0),  # capitalised, not a sentence's first word
                             (ambiguous, r"studio\s+", re.IGNORECASE))
                         if cores]

    def find(self, text: str) -> tuple[str, ...]:
        """The names the text mentions, in the order it mentions them (likenesses left out)."""
        found: dict[int, str] = {}
        for pattern in self.patterns:
            for match in pattern.finditer(text):
                if _LIKENESS_BEFORE.search(text[max(0, match.start() - 25):match.start()]) or \
                        _LIKENESS_AFTER.match(text[match.end():match.end() + 12]):
                    continue
                found.setdefault(match.start(), self.names[match.group(1).lower()])
        return tuple(dict.fromkeys(found[start] for start in sorted(found)))


NO_NAMES = Names(())


def _types(tags: str, prose: str) -> tuple[str, ...]:
    text = _NOT_A_TYPE.sub(" ", f"{tags} {prose}".lower())
    found: list[str] = []
    for pattern, names in TYPE_RULES:
        text, matched = re.subn(pattern, " ", text)
        if matched:
            found += [n for n in names if n not in found]
    return tuple(found)


def _era_span(match: re.Match[str]) -> tuple[int, int]:
    """One era mention -> (first year, last year)."""
    first, last = _PART_SPANS[(match["part"] or "").lower() or None]
    if match["year"]:
        year = int(match["year"])
        if match["part"]:
            return year + first, year + last  # "early 2000" = early 2000s
        return (year - 2, year + 2) if match["approx"] else (year - 1, year + 1)
    if match["naughts"]:
        start = 2000
    elif match["word"]:
        start = 1900 + _DECADE_WORDS[match["word"].lower()]
    else:
        tens = int(match["tens"] or match["short"])
        century = match["century"]
        start = (int(century) * 100 if century else (2000 if tens <= 3 else 1900)) + tens * 10
    return start + first, start + last


def _spans(text: str) -> list[tuple[int, int]]:
    """The distinct eras a text names, each as (first year, last year), less any that holds a
    narrower one: "2010s, more like 2017-2019" means 2017-2019 (the more precise memory refines the
    vaguer). One sweep, latest start first: a span holds another exactly when some span already
    seen ends no later than it does (comparing every pair cost 180 ms on 5,000 characters of "80's")."""
    spans = {_era_span(m) for m in _ERA.finditer(text)
             if not (m["year"] and not m["part"] and not m["approx"] and _is_count(text, m))}
    kept, least_end = [], math.inf
    for span in sorted(spans, key=lambda s: (-s[0], s[1])):
        if least_end > span[1]:
            kept.append(span)
        least_end = min(least_end, span[1])
    return kept


def _about_viewing(text: str) -> tuple[str, str]:
    """(what is said about the title: the forum tags and every other sentence, the sentences about
    the person's own viewing: "I saw it as a kid in the early 2000s", "back when I was in school")."""
    title, viewing = list(_TAG.findall(text)), []
    for sentence in _SENTENCES.split(_TAG.sub(" ", text)):
        (viewing if VIEWING.search(sentence) else title).append(sentence)
    return " ".join(title), " ".join(viewing)


def _seen_year(match: re.Match[str]) -> int:
    """The last year of "watched it in 2010" or "in 2010-11"."""
    year, until = int(match["year"]), match["until"]
    if not until:
        return year
    return max(year, int(until) if len(until) == 4 else year // 100 * 100 + int(until))


def _years(text: str) -> tuple[int | None, int | None] | None:
    """The start year's likely range: the hull of the eras said of the title; failing those, of the
    eras a person saw it in, widened back by VIEWED_BACK_YEARS (a child watches older titles too);
    and at most the year a person says they saw it (when that is all they say, only an upper bound).
    The year a story is set in says nothing of when it came out."""
    text = _STORY_TIME.sub(" ", text)
    seen = [_seen_year(m) for m in _SEEN_IN.finditer(text)]
    title, viewing = _about_viewing(_SEEN_IN.sub(" ", text))
    spans = _spans(title)
    viewed = [] if spans else _spans(viewing)
    if viewed:
        spans = [(min(s[0] for s in viewed) - VIEWED_BACK_YEARS, max(s[1] for s in viewed))]
    if not spans and not seen:
        return None
    upper = max((s[1] for s in spans), default=None)
    if seen:
        upper = min(seen) if upper is None else min(upper, max(seen))
    lower = min((s[0] for s in spans), default=None)
    if lower is not None and upper is not None and lower > upper:
        lower = upper - 9
    return lower, upper


def _is_count(text: str, match: re.Match[str]) -> bool:
    """'1999 people' or '2000 years' is a number of things, not a year."""
    return bool(re.match(r"\s*(?:years?|people|men|soldiers|feet|meters|miles|km|dollars|episodes)\b",
                         text[match.end():match.end() + 12], re.IGNORECASE))


def _audience(text: str) -> tuple[str, ...]:
    return tuple(name for pattern, name in AUDIENCE_RULES if re.search(pattern, text, re.IGNORECASE))


def _genres(text: str) -> tuple[str, ...]:
    """What the story is about, from what is said of the title (not "I watched it in school")."""
    text = _about_viewing(text)[0]
    found = (tags for pattern, tags in GENRE_RULES if re.search(pattern, text, re.IGNORECASE))
    return tuple(dict.fromkeys(tag for tags in found for tag in tags))


def _clean(text: str) -> str:
    """Tags, meta-talk and hedges removed; sentences left nearly empty dropped."""
    text = _TAG.sub(" ", text)
    kept = []
    for sentence in _SENTENCES.split(text):
        sentence = HEDGES.sub(" ", _META.sub(" ", sentence))
        sentence = re.sub(r"\s+", " ", sentence).strip(" ,;:-")
        if len(_WORD.findall(sentence)) >= _MIN_SENTENCE_WORDS:
            kept.append(sentence)
    return " ".join(kept)


def _expanded(text: str) -> str:
    """The text with the synopsis words for what it says in other words (`EXPANSIONS`) appended."""
    extra = [words for pattern, words in EXPANSIONS
             if re.search(pattern, text, re.IGNORECASE) and words.lower() not in text.lower()]
    return f"{text} ({', '.join(extra)})" if extra else text


def understand(raw: str, names: Names = NO_NAMES) -> Understood:
    """Split a (cleaned of markup) description into the text to search and the cues about the title.

    When cleaning would leave too little (a short query made only of tag-like words), the text is
    kept as typed: the cleaner never turns a real query blank."""
    tags = " ".join(_TAG.findall(raw))
    cleaned = _clean(raw)
    text = cleaned if len(_WORD.findall(cleaned)) >= _MIN_SENTENCE_WORDS else re.sub(r"\s+", " ", raw).strip()
    text = _expanded(text)
    cues = Cues(types=_types(tags, raw), years=_years(raw), names=names.find(raw), audience=_audience(raw),
                genres=_genres(raw), dubbed=bool(DUBBED.search(raw)))
    return Understood(text, cues)
