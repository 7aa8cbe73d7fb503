"""The probe sentences this lesson ships (lessonkit/data/*.json), loaded into plain records.

- probes.json: the explorer's library (coreference and their Winograd twins, agreement,
  adjective-noun, prepositions, sentence pairs).
- coreference_pairs.json: Winograd-style twins, each with a marked pronoun, two candidate
  nouns and the true antecedent for each of the two fillers.
- probes_syntax.json: sentences with hand-labelled dependency arcs (determiner, direct object,
  object of preposition).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Probe:
    id: str
    category: str
    label: str
    text: str
    text_pair: str | None = None


@dataclass(frozen=True)
class CoreferenceItem:
    pair: int  # index of the twin pair; the two sentences of a pair share it
    text: str
    pronoun: str
    candidates: tuple[str, str]
    antecedent: str  # one of candidates


@dataclass(frozen=True)
class SyntaxArc:
    sentence: int  # index into the syntax sentences
    text: str
    relation: str  # 'det', 'dobj', 'pobj'
    dependent: str  # word, optionally 'word@n' for its n-th occurrence
    head: str


RELATIONS: dict[str, str] = {
    "det": "determiner → its noun",
    "dobj": "direct object → its verb",
    "pobj": "object of preposition → the preposition",
}


def _load(name: str) -> dict:
    return json.loads(resources.files("lessonkit").joinpath("data", name).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def load_probes() -> tuple[Probe, ...]:
    return tuple(
        Probe(id=p["id"], category=p["category"], label=p["label"], text=p["text"], text_pair=p.get("text_pair"))
        for p in _load("probes.json")["probes"]
    )


@lru_cache(maxsize=1)
def load_coreference_items() -> tuple[CoreferenceItem, ...]:
    items = []
    for index, pair in enumerate(_load("coreference_pairs.json")["pairs"]):
        candidates = tuple(pair["candidates"])
        for fill, antecedent in pair["fills"].items():
            if antecedent not in candidates:
                raise ValueError(f"pair {index}: antecedent {antecedent!r} is not a candidate")
            items.append(
                CoreferenceItem(
                    pair=index,
                    text=pair["template"].format(fill),
                    pronoun=pair["pronoun"],
                    candidates=candidates,
                    antecedent=antecedent,
                )
            )
    return tuple(items)


def coreference_twins(pair: int) -> tuple[CoreferenceItem, CoreferenceItem]:
    first, second = [item for item in load_coreference_items() if item.pair == pair]
    return first, second


@lru_cache(maxsize=1)
def load_syntax_arcs() -> tuple[SyntaxArc, ...]:
    arcs = []
    for index, sentence in enumerate(_load("probes_syntax.json")["sentences"]):
        for relation, pairs in sentence["relations"].items():
            for dependent, head in pairs:
                arcs.append(SyntaxArc(index, sentence["text"], relation, dependent, head))
    return tuple(arcs)


def find_twin(text: str) -> str | None:
    """The Winograd twin of a sentence we ship (same sentence, one word changed), else None."""
    text = text.strip()
    for item in load_coreference_items():
        if item.text == text:
            first, second = coreference_twins(item.pair)
            return second.text if first.text == text else first.text
    probes = [p for p in load_probes() if p.category == "coreference"]
    for probe in probes:
        if probe.text == text:
            stem = probe.id.rsplit("-", 1)[0]
            others = [p for p in probes if p.id.rsplit("-", 1)[0] == stem and p.id != probe.id]
            return others[0].text if others else None
    return None
