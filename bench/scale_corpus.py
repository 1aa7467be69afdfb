"""Seeded generator of a bilingual scale corpus built from the sentences of corpus/0*.txt.

Each document recombines real corpus sentences (French from the four French files,
English from the interview plus English renderings of French corpus sentences), with
their partners, places, people, dates and figures varied, in one of three shapes: press
release (with a dateline such as "Lille, le 8 juillet 2024"), partnership convention
(articles, "Fait à …") or interview (questions and answers). Document ``i`` depends only
on ``(seed, i)``, so a 100k-chunk corpus starts with the 10k-chunk one, file for file.

Files are plain ``.txt`` that the normal ingest reads. Their chunk count is estimated
from an approximate token count (words and punctuation x 1.27, measured on corpus/ with
the E5 tokenizer) and the chunker's step (``max_tokens - overlap``); the benchmark
reports the count the ingest actually produced.

One module, not split: pools, scenarios, shapes and queries are one job, a seeded generator
whose parts all draw on the same scenario (a quarter of its lines are word lists).

    python -m bench.scale_corpus --chunks 10000 --seed 0 OUT_DIR
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import math
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

logger = logging.getLogger(__name__)

__all__ = [
    "CORPUS_DIR",
    "MANIFEST",
    "GeneratedCorpus",
    "approx_tokens",
    "estimate_chunks",
    "generate_document",
    "generate_queries",
    "load_pools",
    "write_corpus",
]

CORPUS_DIR = Path(__file__).resolve().parent.parent / "corpus"
MANIFEST = ".scale_corpus.json"
#: E5 SentencePiece tokens per regex word/punctuation token, measured on corpus/ (1.22-1.34).
_TOKEN_RATIO = 1.27
#: Tokens the chunker adds per chunk: "passage: " prefix and the two special tokens.
_CHUNK_OVERHEAD = 5
_WORD = re.compile(r"\w+|[^\w\s]")

Shape = Literal["press_release", "convention", "interview"]
Lang = Literal["fr", "en"]


def approx_tokens(text: str) -> int:
    """Approximate E5 token count of ``text`` (within ~6% on corpus/), no model needed."""
    return round(len(_WORD.findall(text)) * _TOKEN_RATIO)


def estimate_chunks(tokens: int, *, max_tokens: int = 200, overlap_tokens: int = 30) -> int:
    """Chunks a ``tokens``-long document yields with the ingest's chunker settings.

    Chunks end on sentence boundaries, so they hold ~90% of ``max_tokens`` on average."""
    fill = 0.9 * (max_tokens - _CHUNK_OVERHEAD)
    step = max(1.0, fill - overlap_tokens)
    return max(1, math.ceil((tokens - overlap_tokens) / step))


# ---------------------------------------------------------------- sentence pools

_BOILERPLATE = re.compile(
    r"(@|https?:|www\.|©|Facebook|Haut de page|Voir Modifier|Contacts? [Pp]resse|^\W*$|"
    r"^\d[\d ]+$|Pour en savoir plus)"
)
_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[«\"A-ZÀ-ÝÉ])")
_BULLET = re.compile(r"^\s*(?:[-•·]|\d+[.)])\s+")

#: English renderings of French corpus sentences, so English documents vary as much as French ones.
_EN_EXTRA = (
    "Lille University, Lille University Hospital and Inserm sign an original cooperation "
    "protocol for a more integrated and stronger science policy on the Lille site.",
    "For more than 15 years, Lille University, Lille University Hospital and Inserm have "
    "built a shared momentum in favour of high-level fundamental, translational and "
    "clinical research.",
    "The protocol sets out the objectives to be achieved for a better fulfilment of the "
    "partners' respective missions.",
    "It provides in particular for the joint development of technology transfer and "
    "valorisation activities and for structured international cooperation.",
    "This commitment reaffirms the partners' will to pursue a shared science policy on the "
    "site, bringing together the academic actors of health research.",
    "Inserm and Université Paris-Saclay signed an agreement on Tuesday 26 September 2023 to "
    "consolidate their joint scientific strategy, implemented in particular in their shared "
    "laboratories.",
    "The agreement aims to strengthen the scientific collaborations carried out within the "
    "joint research units of which they are co-supervisors.",
    "Cooperation may take the form of joint units, programmes encouraging the exchange of "
    "skills, or the acquisition of large equipment.",
    "The Normandy Region and Inserm join forces to strengthen the development of medical "
    "research in Normandy.",
    "Under this six-year agreement, the Region and Inserm undertake to cooperate on the "
    "following priority themes: cardiology, oncology, genomics, neuroscience, medical "
    "imaging and immunology.",
    "The collaboration will also support the internationalisation of research units in "
    "European calls for projects.",
    "The Region will co-fund PhD theses, post-doctoral positions and ATIP-Avenir "
    "programmes in biology and health.",
    "Inserm has more than 360 research structures spread across France, all of them joint "
    "structures with at least one higher education institution.",
    "On each site, the dialogue between Inserm and its partners is constant and formalised "
    "in an agreement.",
    "The joint research structures are evaluated by the High Council for the Evaluation of "
    "Research and Higher Education (HCERES).",
    "Founded in 1964, Inserm is a public scientific and technological institute under the "
    "joint supervision of the Ministry of Health and the Ministry of Research.",
    "Dedicated to biological and medical research and human health, it covers the whole "
    "path from the research laboratory to the patient's bedside.",
    "Offering quality medicine to our fellow citizens can only come through excellent "
    "research in the field of health.",
    "This agreement describes a shared scientific ambition: bringing therapeutic research "
    "and clinical practice closer together.",
    "The aim is to ensure high-level scientific output in health biology research on the site.",
    "The partners will promote the pooling of resources and the development of shared "
    "infrastructures and platforms.",
    "They will foster the constitution and sharing of biological collections and health "
    "data, in compliance with the regulations in force.",
)

#: English renderings of the French corpus's list items (objectives, actions, themes).
_EN_ITEMS = (
    "Ensure high-level scientific output in health biology research on the site",
    "Develop translational research in line with national plans and programmes",
    "Coordinate the site's strategies in the face of national and international challenges",
    "Ensure that research and training activities complement each other",
    "Promote the pooling of resources and the development of shared platforms",
    "Foster the sharing of biological collections and health data, in compliance with the "
    "regulations in force",
    "Jointly develop technology transfer and valorisation activities",
    "Structure distinctive themes of excellence to reach a critical size",
    "Develop structured international cooperation in the site's major themes",
    "The funding or co-funding of operations or programmes benefiting Inserm structures",
    "Support for training in and through research in biology and health",
    "The co-funding of equipment within the structures of which Inserm is a member",
    "Support for public policies and expertise in research and health training",
)

_EN_QUESTIONS_EXTRA = (
    "Why did you sign this agreement with {partner}?",
    "What will change for the research units in {city}?",
    "How is the partnership with {partner} funded?",
    "Which research themes are the priority in {region}?",
    "How many researchers work in the joint units of {city}?",
)
_FR_QUESTIONS = (
    "Quels sont les chiffres clés de la délégation régionale de l'Inserm à {city} ?",
    "Quels sont vos principaux partenariats de recherche en {region} ?",
    "Que faites-vous pour soutenir l'innovation en {region} ?",
    "Pourquoi avoir signé cette convention avec {partner} ?",
    "Comment travaillez-vous avec {partner} pour renforcer l'attractivité du territoire ?",
    "Pouvez-vous nous donner un exemple d'innovation à {city} ?",
    "Quelles sont les thématiques prioritaires de ce partenariat ?",
    "Combien de chercheurs travaillent dans les unités mixtes de {city} ?",
)


@dataclass(frozen=True, slots=True)
class Pools:
    """Sentences to recombine, per language; ``items`` are list entries (objectives, themes)."""

    sentences: dict[str, tuple[str, ...]]
    items: dict[str, tuple[str, ...]]
    questions: dict[str, tuple[str, ...]]


def _clean_line(line: str) -> str:
    line = line.replace("**", "").replace("\\*", "").replace("\u00a0", " ")
    line = re.sub(r"^#+\s*", "", line)
    return re.sub(r"\s+", " ", line).strip()


def load_pools(corpus_dir: Path = CORPUS_DIR) -> Pools:
    """Split corpus/0*.txt into sentence, list-item and question pools per language."""
    sentences: dict[str, list[str]] = {"fr": [], "en": []}
    items: dict[str, list[str]] = {"fr": [], "en": []}
    questions: dict[str, list[str]] = {"fr": list(_FR_QUESTIONS), "en": []}
    files = sorted(corpus_dir.glob("0*.txt"))
    if not files:
        raise FileNotFoundError(f"no corpus/0*.txt files in {corpus_dir}; pass --corpus DIR")
    for path in files:
        text = path.read_text(encoding="utf-8")
        lang: Lang = "en" if re.search(r"\b(the|and|with)\b", text[:2000]) else "fr"
        for raw in text.splitlines():
            line = _clean_line(raw)
            if len(line) < 25 or _BOILERPLATE.search(line):
                continue
            if _BULLET.match(raw):
                items[lang].append(_BULLET.sub("", line).rstrip(" ;,."))
            elif line.endswith("?"):
                questions[lang].append(line)
            else:
                sentences[lang].extend(s for s in _SENT_SPLIT.split(line) if len(s) >= 40)
    sentences["en"].extend(_EN_EXTRA)
    questions["en"].extend(_EN_QUESTIONS_EXTRA)
    items["en"].extend(_EN_ITEMS)
    return Pools(
        sentences={k: tuple(dict.fromkeys(v)) for k, v in sentences.items()},
        items={k: tuple(dict.fromkeys(v)) for k, v in items.items()},
        questions={k: tuple(dict.fromkeys(v)) for k, v in questions.items()},
    )


# ---------------------------------------------------------------- scenario (what varies)

_CITIES = (
    # city, French demonym, region (fr), region (en)
    ("Lille", "lillois", "Hauts-de-France", "Hauts-de-France"),
    ("Amiens", "amiénois", "Hauts-de-France", "Hauts-de-France"),
    ("Rouen", "rouennais", "Normandie", "Normandy"),
    ("Caen", "caennais", "Normandie", "Normandy"),
    ("Bordeaux", "bordelais", "Nouvelle-Aquitaine", "Nouvelle-Aquitaine"),
    ("Poitiers", "poitevin", "Nouvelle-Aquitaine", "Nouvelle-Aquitaine"),
    ("Lyon", "lyonnais", "Auvergne-Rhône-Alpes", "Auvergne-Rhône-Alpes"),
    ("Grenoble", "grenoblois", "Auvergne-Rhône-Alpes", "Auvergne-Rhône-Alpes"),
    ("Marseille", "marseillais", "Provence-Alpes-Côte d'Azur", "Provence-Alpes-Côte d'Azur"),
    ("Nice", "niçois", "Provence-Alpes-Côte d'Azur", "Provence-Alpes-Côte d'Azur"),
    ("Toulouse", "toulousain", "Occitanie", "Occitania"),
    ("Montpellier", "montpelliérain", "Occitanie", "Occitania"),
    ("Nantes", "nantais", "Pays de la Loire", "Pays de la Loire"),
    ("Angers", "angevin", "Pays de la Loire", "Pays de la Loire"),
    ("Rennes", "rennais", "Bretagne", "Brittany"),
    ("Brest", "brestois", "Bretagne", "Brittany"),
    ("Strasbourg", "strasbourgeois", "Grand Est", "Grand Est"),
    ("Nancy", "nancéien", "Grand Est", "Grand Est"),
    ("Dijon", "dijonnais", "Bourgogne-Franche-Comté", "Burgundy-Franche-Comté"),
    ("Besançon", "bisontin", "Bourgogne-Franche-Comté", "Burgundy-Franche-Comté"),
    ("Tours", "tourangeau", "Centre-Val de Loire", "Centre-Val de Loire"),
    ("Clermont-Ferrand", "clermontois", "Auvergne-Rhône-Alpes", "Auvergne-Rhône-Alpes"),
    ("Limoges", "limougeaud", "Nouvelle-Aquitaine", "Nouvelle-Aquitaine"),
    ("Reims", "rémois", "Grand Est", "Grand Est"),
    ("Paris-Saclay", "saclaysien", "Île-de-France", "Île-de-France"),
)
_COMPANIES = (
    "Roquette", "Merck", "Sanofi", "Servier", "Ipsen", "bioMérieux", "Pierre Fabre",
    "Guerbet", "Stallergenes", "Novartis", "AstraZeneca", "Owkin", "Dassault Systèmes",
)  # fmt: skip
_FOUNDATIONS = (
    ("Fondation pour la Recherche Médicale", "Foundation for Medical Research"),
    ("Fondation Alzheimer", "Alzheimer's Foundation"),
    ("Fondation ARC", "ARC Foundation"),
    ("Fondation de France", "Fondation de France"),
    ("Fondation Bettencourt Schueller", "Bettencourt Schueller Foundation"),
    ("Fondation pour la recherche sur le cancer", "Cancer Research Foundation"),
)


def _names(text: str) -> tuple[str, ...]:
    """A name list written as running text, in order (rng.choice draws by position)."""
    return tuple(text.split())


_FIRST = _names(
    "Claire Marc Sophie Jean Nathalie Olivier Isabelle Thomas Camille Pierre Hélène"
    " Laurent Anne Julien Catherine Nicolas Valérie François Émilie Bruno Sylvie Antoine"
    " Cécile Yves"
)
_LAST = _names(
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent"
    " Lefebvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André"
    " Mercier Blanc Guérin Boyer Garnier Chevalier François Legrand Gauthier"
)
_MONTHS_FR = _names(
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
)
_MONTHS_EN = _names(
    "January February March April May June July August September October November December"
)
_THEMES = (
    ("cancérologie", "oncology"), ("neurosciences", "neuroscience"),
    ("cardiologie", "cardiology"), ("immunologie", "immunology"), ("génomique", "genomics"),
    ("santé numérique", "digital health"), ("maladies rares", "rare diseases"),
    ("santé publique", "public health"), ("imagerie médicale", "medical imaging"),
    ("diabète et maladies métaboliques", "diabetes and metabolic diseases"),
    ("maladies infectieuses", "infectious diseases"), ("vieillissement", "ageing"),
)  # fmt: skip
_PARTNER_KINDS = ("university", "chu", "region", "company", "foundation")


@dataclass(frozen=True, slots=True)
class _Scenario:
    lang: Lang
    shape: Shape
    kind: str
    city: str
    demonym: str
    region_fr: str
    region_en: str
    other_city: str
    third_city: str
    date: dt.date
    people: tuple[str, str, str]
    company: str
    foundation: tuple[str, str]
    theme: tuple[str, str]

    @property
    def univ(self) -> str:
        return f"Université de {self.city}" if self.lang == "fr" else f"University of {self.city}"

    @property
    def chu(self) -> str:
        return f"CHU de {self.city}" if self.lang == "fr" else f"{self.city} University Hospital"

    @property
    def region(self) -> str:
        return self.region_fr if self.lang == "fr" else self.region_en

    @property
    def partner(self) -> str:
        fr = self.lang == "fr"
        return {
            "university": self.univ,
            "chu": self.chu,
            "region": f"Région {self.region_fr}" if fr else f"{self.region_en} Region",
            "company": self.company,
            "foundation": self.foundation[0 if fr else 1],
        }[self.kind]

    def date_text(self, d: dt.date | None = None) -> str:
        d = d or self.date
        if self.lang == "fr":
            day = "1er" if d.day == 1 else str(d.day)
            return f"{day} {_MONTHS_FR[d.month - 1]} {d.year}"
        return f"{d.day} {_MONTHS_EN[d.month - 1]} {d.year}"


def _scenario(rng: random.Random) -> _Scenario:
    city, demonym, region_fr, region_en = rng.choice(_CITIES)
    others = [c[0] for c in _CITIES if c[0] != city]
    people = tuple(f"{rng.choice(_FIRST)} {rng.choice(_LAST).upper()}" for _ in range(3))
    start = dt.date(2015, 1, 1).toordinal()
    return _Scenario(
        lang="fr" if rng.random() < 0.6 else "en",
        shape=rng.choices(("press_release", "convention", "interview"), (5, 3, 2))[0],
        kind=rng.choice(_PARTNER_KINDS),
        city=city,
        demonym=demonym,
        region_fr=region_fr,
        region_en=region_en,
        other_city=rng.choice(others),
        third_city=rng.choice(others),
        date=dt.date.fromordinal(start + rng.randrange(3650)),
        people=(people[0], people[1], people[2]),
        company=rng.choice(_COMPANIES),
        foundation=rng.choice(_FOUNDATIONS),
        theme=rng.choice(_THEMES),
    )


_CORPUS_FOUNDATIONS = ("Alzheimer's Foundation", "Foundation for Medical Research")


def _vary(text: str, sc: _Scenario, rng: random.Random) -> str:
    """Replace the corpus's partners, places, people, dates and figures with the scenario's."""
    univs = (
        "Université de Lille",
        "Université Paris-Saclay",
        "Université Paris Saclay",
        "University of Lille",
    )
    chus = ("Lille University Hospital", "Lille CHU", "CHU de Lille")
    # Replaced in this order: a name before the shorter names it contains.
    subs: list[tuple[str, str]] = [
        *((name, sc.univ) for name in univs),
        *((name, sc.chu) for name in chus),
        ("Région Normandie", sc.partner if sc.kind == "region" else f"Région {sc.region_fr}"),
        ("Hauts-de-France Region", f"{sc.region_en} Region"),
        ("Roquette", sc.company),
        ("Merck", rng.choice(_COMPANIES)),
        *((name, sc.foundation[1]) for name in _CORPUS_FOUNDATIONS),
        ("Hauts-de-France", sc.region),
        ("Normandie", sc.region_fr),
        ("Normandy", sc.region_en),
        ("normande", "régionale"),
        ("normandes", "régionales"),
        ("normand", "régional"),
        ("lillois", sc.demonym),
        *((city, sc.city) for city in ("Paris-Saclay", "Lille")),
        ("Amiens", sc.other_city),
        ("Rouen", sc.city),
        ("Caen", sc.third_city),
        ("Régis BORDET", sc.people[0]),
        ("Frédéric BOIRON", sc.people[1]),
        ("Estelle lacona", sc.people[0].title()),
        ("Hervé Morin", sc.people[2].title()),
    ]
    for old, new in subs:
        text = text.replace(old, new)
    # Full dates become the scenario's date; other years shift with it (dates last, so
    # the scenario's own year is not shifted again).
    shift = sc.date.year - 2024
    text = re.sub(r"\b(20[0-2]\d)\b", lambda m: str(int(m.group(1)) + shift), text)
    text = re.sub(
        r"\b\d{1,2} (?:" + "|".join(_MONTHS_FR + _MONTHS_EN) + r") (?:19|20)\d{2}\b",
        lambda _: sc.date_text(),
        text,
    )

    def figure(m: re.Match[str]) -> str:
        value = int(m.group(0).replace(" ", ""))
        if value < 2:
            return m.group(0)
        return str(max(2, round(value * rng.uniform(0.5, 1.8))))

    return re.sub(r"(?<![\d/-])\b(?!(?:19|20)\d{2}\b)\d{1,3}(?: \d{3})?\b(?![\d/-])", figure, text)


# ---------------------------------------------------------------- document shapes


def _paragraphs(pool: tuple[str, ...], n: int, sc: _Scenario, rng: random.Random) -> list[str]:
    out = []
    for _ in range(n):
        k = rng.randint(2, 5)
        out.append(" ".join(_vary(s, sc, rng) for s in rng.sample(pool, min(k, len(pool)))))
    return out


def _bullets(pool: tuple[str, ...], sc: _Scenario, rng: random.Random) -> str:
    k = rng.randint(3, min(7, len(pool)))
    mark = rng.choice(("-", "·", "•"))
    return "\n".join(f"{mark} {_vary(s, sc, rng)} ;" for s in rng.sample(pool, k))


def _title(sc: _Scenario, rng: random.Random) -> str:
    theme = sc.theme[0 if sc.lang == "fr" else 1]
    if sc.lang == "fr":
        return rng.choice(
            (
                f"L'Inserm et {sc.partner} signent un protocole de coopération à {sc.city}",
                f"{sc.partner} et l'Inserm renforcent leur stratégie scientifique commune",
                f"Une convention de partenariat en {theme} entre l'Inserm et {sc.partner}",
                f"{sc.partner} et l'Inserm s'associent pour la recherche médicale en "
                f"{sc.region_fr}",
            )
        )
    return rng.choice(
        (
            f"Inserm and {sc.partner} sign a cooperation protocol in {sc.city}",
            f"{sc.partner} and Inserm strengthen their joint scientific strategy",
            f"A partnership agreement on {theme} between Inserm and {sc.partner}",
            f"{sc.partner} and Inserm join forces for medical research in {sc.region_en}",
        )
    )


def _quote(sc: _Scenario, pool: tuple[str, ...], rng: random.Random) -> str:
    said = " ".join(_vary(s, sc, rng) for s in rng.sample(pool, 2))
    who = sc.people[rng.randrange(3)].title()
    if sc.lang == "fr":
        role = rng.choice(("président", "directrice générale", "déléguée régionale", "doyen"))
        return f"« {said} » a déclaré {who}, {role} de {sc.partner}."
    role = rng.choice(("president", "chief executive", "regional delegate", "dean"))
    return f'"{said}" said {who}, {role} of {sc.partner}.'


def _press_release(pools: Pools, sc: _Scenario, rng: random.Random) -> str:
    fr = sc.lang == "fr"
    pool = pools.sentences[sc.lang]
    head = "COMMUNIQUÉ DE PRESSE" if fr else "PRESS RELEASE"
    dateline = f"{sc.city}, le {sc.date_text()}" if fr else f"{sc.city}, {sc.date_text()}"
    parts = [head, dateline, _title(sc, rng)]
    body = _paragraphs(pool, rng.randint(3, 12), sc, rng)
    body.insert(rng.randrange(1, len(body)), _quote(sc, pool, rng))
    if rng.random() < 0.5:
        intro = "Les objectifs sont les suivants :" if fr else "The objectives are as follows:"
        body.insert(
            rng.randrange(1, len(body)), intro + "\n" + _bullets(pools.items[sc.lang], sc, rng)
        )
    parts += body
    parts.append("À PROPOS DE L'INSERM" if fr else "ABOUT INSERM")
    parts += _paragraphs(pool, 1, sc, rng)
    contact = "Contact presse" if fr else "Press contact"
    parts.append(f"{contact} : {sc.people[2].title()} – presse@inserm.fr")
    return "\n\n".join(parts) + "\n"


def _convention(pools: Pools, sc: _Scenario, rng: random.Random) -> str:
    fr = sc.lang == "fr"
    pool = pools.sentences[sc.lang]
    parts = [
        "CONVENTION DE PARTENARIAT" if fr else "PARTNERSHIP AGREEMENT",
        (
            f"Entre l'Institut national de la santé et de la recherche médicale (Inserm) et "
            f"{sc.partner}"
            if fr
            else f"Between the French National Institute of Health and Medical Research "
            f"(Inserm) and {sc.partner}"
        ),
    ]
    titles_fr = ("Objet", "Objectifs", "Engagements des parties", "Gouvernance", "Durée")
    titles_en = ("Purpose", "Objectives", "Commitments of the parties", "Governance", "Term")
    for n in range(1, rng.randint(3, 9) + 1):
        title = (titles_fr if fr else titles_en)[(n - 1) % 5]
        article = f"Article {n} – {title}"
        body = _paragraphs(pool, rng.randint(1, 2), sc, rng)
        if n == 2:
            body.append(_bullets(pools.items[sc.lang], sc, rng))
        parts.append(article + "\n\n" + "\n\n".join(body))
    years = rng.choice((3, 4, 5, 6))
    end = sc.date.replace(year=sc.date.year + years, day=min(sc.date.day, 28))
    parts.append(
        f"La présente convention prend effet le {sc.date_text()} jusqu'au {sc.date_text(end)}."
        if fr
        else f"This agreement takes effect on {sc.date_text()} until {sc.date_text(end)}."
    )
    parts.append(
        f"Fait à {sc.city}, le {sc.date_text()}" if fr else f"Done at {sc.city}, {sc.date_text()}"
    )
    return "\n\n".join(parts) + "\n"


def _interview(pools: Pools, sc: _Scenario, rng: random.Random) -> str:
    fr = sc.lang == "fr"
    pool = pools.sentences[sc.lang]
    who = sc.people[0].title()
    intro = (
        f"Entretien avec {who}, délégué(e) régionale de l'Inserm à {sc.city}"
        if fr
        else f"Interview with {who}, head of the Inserm regional delegation in {sc.city}"
    )
    parts = [intro, f"{sc.city}, {sc.date_text()}" if not fr else f"{sc.city}, le {sc.date_text()}"]
    questions = pools.questions[sc.lang]
    for q in rng.sample(questions, min(len(questions), rng.randint(3, 7))):
        q = _vary(q, sc, rng).format(partner=sc.partner, city=sc.city, region=sc.region)
        parts.append(q)
        parts += _paragraphs(pool, rng.randint(1, 2), sc, rng)
    return "\n\n".join(parts) + "\n"


_SHAPES: dict[str, Callable[[Pools, _Scenario, random.Random], str]] = {
    "press_release": _press_release,
    "convention": _convention,
    "interview": _interview,
}


def generate_document(pools: Pools, seed: int, index: int) -> tuple[str, str]:
    """Document ``index`` of the corpus for ``seed``: (file stem, text). Pure function."""
    rng = random.Random(f"partnersearch-scale:{seed}:{index}")
    sc = _scenario(rng)
    text = _SHAPES[sc.shape](pools, sc, rng)
    return f"scale_{index:07d}_{sc.lang}_{sc.shape}", text


_QUERY_TEMPLATES = {
    "fr": (
        "Quels sont les objectifs de la convention entre l'Inserm et {partner} ?",
        "Qui a signé le protocole de coopération à {city} ?",
        "Quand {partner} et l'Inserm ont-ils signé leur accord ?",
        "recherche en {theme} à {city}",
        "Combien d'unités de recherche compte le site de {city} ?",
        "partenariat Inserm {partner} {year}",
        "Quelle est la durée de l'accord avec la Région {region} ?",
        "cofinancement de thèses en {theme} en {region}",
    ),
    "en": (
        "What are the goals of the agreement between Inserm and {partner}?",
        "Who signed the cooperation protocol in {city}?",
        "{theme} research in {city}",
        "How many research units does the {city} site have?",
        "When did {partner} sign its agreement with Inserm?",
        "Inserm partnership with {partner} in {year}",
        "How long does the agreement with the {region} Region last?",
        "technology transfer and start-ups in {region}",
    ),
}


def generate_queries(n: int, *, seed: int = 0) -> list[str]:
    """``n`` distinct FR/EN search queries about the generated corpus's partners and places."""
    rng = random.Random(f"partnersearch-queries:{seed}")
    out: dict[str, None] = {}
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 50 * n:
            raise ValueError(f"cannot make {n} distinct queries from the templates")
        sc = _scenario(rng)
        lang = "fr" if rng.random() < 0.55 else "en"
        sc = dataclasses.replace(sc, lang=lang)
        query = rng.choice(_QUERY_TEMPLATES[lang]).format(
            partner=sc.partner,
            city=sc.city,
            region=sc.region,
            theme=sc.theme[0 if lang == "fr" else 1],
            year=sc.date.year,
        )
        out[query] = None
    return list(out)


@dataclass(frozen=True, slots=True)
class GeneratedCorpus:
    """What :func:`write_corpus` wrote: counts and the chunk estimate."""

    out_dir: Path
    seed: int
    documents: int
    tokens: int
    estimated_chunks: int
    languages: dict[str, int]
    shapes: dict[str, int]


def write_corpus(
    out_dir: Path,
    *,
    chunks: int,
    seed: int = 0,
    max_tokens: int = 200,
    overlap_tokens: int = 30,
    corpus_dir: Path = CORPUS_DIR,
) -> GeneratedCorpus:
    """Write documents 0, 1, 2… into ``out_dir`` until about ``chunks`` chunks are estimated.

    Files already there with the same name and content are left untouched (so mtimes
    stay put for re-ingest checks); a hidden manifest (:data:`MANIFEST`) records the counts."""
    if chunks < 1:
        raise ValueError(f"chunks must be >= 1, got {chunks}")
    pools = load_pools(corpus_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    total_chunks = tokens = n = 0
    langs: dict[str, int] = {}
    shapes: dict[str, int] = {}
    while total_chunks < chunks:
        stem, text = generate_document(pools, seed, n)
        t = approx_tokens(text)
        total_chunks += estimate_chunks(t, max_tokens=max_tokens, overlap_tokens=overlap_tokens)
        tokens += t
        _, _, lang, shape = stem.split("_", 3)
        langs[lang] = langs.get(lang, 0) + 1
        shapes[shape] = shapes.get(shape, 0) + 1
        path = out_dir / f"{stem}.txt"
        data = text.encode("utf-8")
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
        n += 1
    result = GeneratedCorpus(out_dir, seed, n, tokens, total_chunks, langs, shapes)
    manifest = {**dataclasses.asdict(result), "out_dir": str(out_dir)}
    # Hidden, so the ingest (which skips hidden files) does not offer it as a document.
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    logger.info("wrote %d documents (~%d chunks) into %s", n, total_chunks, out_dir)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--chunks", type=int, required=True, help="target chunk count")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--overlap-tokens", type=int, default=30)
    parser.add_argument("--corpus", type=Path, default=CORPUS_DIR, help="source documents")
    args = parser.parse_args(argv)
    result = write_corpus(
        args.out_dir,
        chunks=args.chunks,
        seed=args.seed,
        max_tokens=args.max_tokens,
        overlap_tokens=args.overlap_tokens,
        corpus_dir=args.corpus,
    )
    print(
        f"{result.documents} documents, ~{result.tokens} tokens, ~{result.estimated_chunks} "
        f"chunks (languages {result.languages}) in {result.out_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
