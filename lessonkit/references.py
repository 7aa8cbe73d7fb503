"""Published numbers the app shows beside its own measurements, each with its source.

Nothing here is measured by the app: these are the papers' figures, for the models the papers
used (BERT-base, a BiLSTM on SST, a subject-verb agreement model, DistilBERT), never for the
model the app runs. Pages must say which model a number belongs to.

Sources:
- CLARK_2019: Clark, Khandelwal, Levy & Manning (2019), "What Does BERT Look At? An Analysis of
  BERT's Attention", BlackboxNLP. BERT-base (12 layers x 12 heads). Heads are "layer-head",
  both counted from 1 (their "8-10" is layer index 7, head index 9 in Hugging Face's indexing).
- JAIN_WALLACE_2019: Jain & Wallace (2019), "Attention is not Explanation", NAACL. A BiLSTM
  encoder with additive attention. Kendall tau, mean (std where given), and the fraction of
  instances where the correlation is significant at p <= 0.05.
- ABNAR_ZUIDEMA_2020: Abnar & Zuidema (2020), "Quantifying Attention Flow in Transformers", ACL.
  Spearman correlation with blank-out importance.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class SyntaxHead(NamedTuple):
    head: str  # "layer-head", counted from 1, BERT-base
    accuracy: float  # fraction of relations where the head's most-attended word is the right one
    best_fixed_offset_baseline: float


# Clark et al. 2019, Table/Figure of dependency relations (BERT-base); keys are their relation labels.
CLARK_2019_SYNTAX: dict[str, SyntaxHead] = {
    "dobj": SyntaxHead("8-10", 0.868, 0.400),
    "det": SyntaxHead("8-11", 0.943, 0.517),
    "pobj": SyntaxHead("9-6", 0.763, 0.346),
    "poss": SyntaxHead("7-6", 0.805, 0.477),
    "auxpass": SyntaxHead("4-10", 0.825, 0.405),
    "prt": SyntaxHead("6-7", 0.991, 0.914),
}


@dataclass(frozen=True)
class CoreferenceReference:
    head: str
    accuracy: float
    baselines: dict[str, float]


# Clark et al. 2019: antecedent selection accuracy of BERT-base's best coreference head.
CLARK_2019_COREFERENCE = CoreferenceReference(
    head="5-4",
    accuracy=0.65,
    baselines={"nearest mention": 0.27, "head-word match": 0.52, "rule-based system": 0.69},
)

# Clark et al. 2019, other BERT-base facts the lesson states.
CLARK_2019_SEP_SHARE_LAYERS = (6, 10)  # over half of the attention in these layers (from 1) goes to [SEP]
CLARK_2019_PREVIOUS_TOKEN_HEADS = 4  # heads putting over 50% of their attention on the previous token
CLARK_2019_NEXT_TOKEN_HEADS = 5  # ... on the next token
BERT_BASE_LAYERS, BERT_BASE_HEADS = 12, 12


class TauReference(NamedTuple):
    mean: float
    std: float | None  # None: not given in the paper
    fraction_significant: float | None


# Jain & Wallace 2019, BiLSTM + additive attention, Kendall tau per data set.
JAIN_WALLACE_2019_TAU: dict[str, dict[str, TauReference]] = {
    "SST": {
        "attention~gradient": TauReference(0.35, 0.21, 0.49),
        "attention~leave_one_out": TauReference(0.29, 0.19, 0.36),
        "gradient~leave_one_out": TauReference(0.66, None, 0.91),
    },
    "IMDB": {
        "attention~gradient": TauReference(0.44, None, 1.00),
        "attention~leave_one_out": TauReference(0.34, None, 0.99),
        "gradient~leave_one_out": TauReference(0.52, None, None),
    },
    "AG News": {
        "attention~gradient": TauReference(0.39, None, 0.86),
        "attention~leave_one_out": TauReference(0.37, None, 0.80),
        "gradient~leave_one_out": TauReference(0.61, None, None),
    },
    "20 Newsgroups": {
        "attention~gradient": TauReference(0.13, None, 0.48),
        "attention~leave_one_out": TauReference(0.12, None, 0.44),
        "gradient~leave_one_out": TauReference(0.53, None, None),
    },
}

# Jain & Wallace 2019, the set-up of their two tests.
JAIN_WALLACE_2019_PERMUTATIONS = 100  # permutations per instance; they report the median output change
JAIN_WALLACE_2019_OUTPUT_TOLERANCE = 0.01  # the adversary's allowed output change (total variation)
JAIN_WALLACE_2019_DISCARD_ABOVE = 0.05  # candidates whose output moved more than this are dropped
JAIN_WALLACE_2019_ADAM_LR = 0.01

# Abnar & Zuidema 2020, Spearman with blank-out importance, subject-verb agreement model
# (2,000 examples), by layer counted from 1.
ABNAR_ZUIDEMA_2020_SVA: dict[str, dict[int, float]] = {
    "raw attention": {1: 0.69, 3: -0.11, 5: 0.20, 6: 0.29},
    "rollout": {1: 0.32, 3: 0.51, 5: 0.70, 6: 0.71},
    "flow": {1: 0.32, 3: 0.70, 5: 0.71, 6: 0.70},
}
# ... and on DistilBERT fine-tuned on SST-2 (100 examples): all low; (lowest, highest) reported.
ABNAR_ZUIDEMA_2020_DISTILBERT_SST2: dict[str, tuple[float, float]] = {
    "raw attention": (0.08, 0.12),
    "rollout": (0.11, 0.13),
    "flow": (0.11, 0.14),
}
