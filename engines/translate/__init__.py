"""Translate: domain translation (horse → zebra) confined by a learned attention map (ch. 4).

Importing this package registers the "translate" engine; it must stay cheap (no torch,
no model loaded).
"""

from __future__ import annotations

from engines.registry import EngineEntry, needs_model, register
from engines.translate.request import TranslateRequest, TranslateResult

__all__ = ["TranslateRequest", "TranslateResult"]


register(EngineEntry(
    operation="translate", name="attention-gan", title="Attention-guided translation (ch. 4)",
    description="A generator G0 translates the photo, an attention network decides where: "
                "result = A·G0 + (1 − A)·photo, so untouched areas keep their pixels.",
    target="engines.translate.engine:TranslateEngine",
    check=needs_model("engines.translate.model_file:TRANSLATION"), default=True,
))
