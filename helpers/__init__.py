"""Helpers shared by every chapter of the executable book on language-model collapse.

One module per concern:

- ``helpers.data``: tiny Shakespeare, the character tokenizer and the train/validation split.
- ``helpers.runtime``: device, scale (``full``, ``t4`` or ``cpu``, from the hardware), mixed
  precision, run folders and seeds.
- ``helpers.plotting``: the book's figure style and common plots.
- ``helpers.theory``: closed forms and bounds of the paper, written once.
- ``helpers.statmodel``: the vectorised recursive-training engine of the statistical model.
- ``helpers.decoding``: decoding transforms (temperature, top-k, top-p) on numpy or torch.
- ``helpers.distributions``: initial distributions with a given support size and ``S_0``.
- ``helpers.softmax_model``: the one-hot linear softmax model of Part I and its fit.
- ``helpers.wright_fisher``, ``helpers.rare_tokens``: genealogies, coalescent bounds, rare tokens.
- ``helpers.gpt``, ``helpers.train``, ``helpers.generation``: the character-level transformer.
- ``helpers.ensemble``: several independent transformers trained at once (``torch.func``).
- ``helpers.timing``: FLOP counts, measured and assumed speeds, expected times of a chapter.
- ``helpers.experiments``: recursive training of the transformer, resumable run folders.
- ``helpers.results``: committed result files with their provenance.
- ``helpers.agreement``: the chapters' statistical check, "the simulation agrees with the
  formula within k standard errors" (``agree``), with its one-sided and paired variants.
- ``helpers.assignments``: checkers for the self-checking assignments.

Modules are imported on demand (``from helpers import data``), so importing ``helpers``
costs nothing and never touches torch or the network.
"""

__version__ = "0.1.0"
