"""Every training method, once: the models it applies to, its family and the settings it reads.

Config validation, the run grid, run dependencies and the audit read this table, so a new
method is one entry here plus its implementation (``tabular.resample`` / ``tabular.fit_tabular``
or ``image_runs``) and its tests. The audit's over-sampling claims count only the family
``oversampling``; a remedy that acts on the decision itself is an ``intervention``.
"""
from __future__ import annotations

from dataclasses import dataclass

FAMILIES = ("baseline", "oversampling", "intervention")
_HEAD = ("head_epochs", "head_lr", "head_warmup_epochs")  # EOS / DSM: the new head's training


@dataclass(frozen=True)
class Method:
    name: str
    title: str
    family: str
    kinds: tuple[str, ...]            # "tabular", "image"
    keys: tuple[str, ...] = ()        # settings of the kind's config section it reads into the run config
    models: tuple[str, ...] = ()      # tabular models it applies to (empty: every one)
    rehead: bool = False              # image: a new head on the trained base network (runs after it)
    objective: str = "ce"             # image: the training loss (losses.OBJECTIVES)
    head: str = "linear"              # image: the network's head (resnet.HEADS)

    def applies_to(self, kind: str, model: str | None = None) -> bool:
        return kind in self.kinds and (kind != "tabular" or not self.models or model in self.models)


METHODS: dict[str, Method] = {m.name: m for m in [
    Method("base", "no over-sampling", "baseline", ("tabular", "image")),
    Method("smote", "SMOTE", "oversampling", ("tabular",)),
    Method("adasyn", "ADASYN", "oversampling", ("tabular",)),
    Method("remix", "ReMix", "oversampling", ("tabular", "image"), keys=("remix_alpha", "remix_batch")),
    Method("eos", "EOS", "oversampling", ("image",), keys=_HEAD + ("eos_k",), rehead=True),
    Method("dsm", "DSM", "oversampling", ("image",), keys=_HEAD + ("dsm_k",), rehead=True),
    # Remedies that act on the decision itself (methods#rq4); never in the over-sampling claims.
    Method("balanced", "class-balanced weights", "intervention", ("tabular",)),
    Method("l1", "L1-regularised LG, C by inner cross-validation", "intervention", ("tabular",),
           keys=("l1_C", "l1_folds"), models=("lg",)),
    Method("cb_ce", "class-balanced cross-entropy", "intervention", ("image",), keys=("cb_beta",),
           objective="cb_ce"),
    Method("logit_adjust", "logit-adjusted loss", "intervention", ("image",), keys=("la_tau",),
           objective="logit_adjust"),
    Method("ldam_drw", "LDAM-DRW", "intervention", ("image",),
           keys=("ldam_max_margin", "ldam_s", "cb_beta", "drw_from"), objective="ldam_drw", head="normed"),
    Method("tau_norm", "tau-normalised head", "intervention", ("image",), keys=("tau_grid", "tau_val_per_class"),
           rehead=True),
]}


def names(kind: str) -> tuple[str, ...]:
    """The methods a kind of data set ('tabular' or 'image') accepts, in table order."""
    return tuple(name for name, m in METHODS.items() if kind in m.kinds)


def method(name: str) -> Method:
    return METHODS[name]


def family(name: str) -> str:
    """A method's family; a name we do not know (an old cache, a user's table) is its own."""
    return METHODS[name].family if name in METHODS else name


def in_family(family_name: str) -> tuple[str, ...]:
    return tuple(name for name, m in METHODS.items() if m.family == family_name)


def grid_methods(section) -> list[str]:
    """A configuration section's methods, then its interventions (each once)."""
    return list(dict.fromkeys([*section["methods"], *section.get("interventions", [])]))
