"""Helpers shared by every chapter of the executable book on language-model collapse.

One module per concern:

- ``helpers.data``: tiny Shakespeare, the character tokenizer and the train/validation split.
- ``helpers.runtime``: device, scale (``full``, ``t4`` or ``cpu``, from the hardware), mixed
  precision, run folders and seeds.
- ``helpers.plotting``: the book's figure style and common plots.
- ``helpers.softmax_model``: the one-hot linear softmax model of Part I and its fit.
- ``helpers.distributions``: initial distributions with a given support size and ``S_0``.
- ``helpers.theory``: the paper's closed forms and bounds (Theorems 1 to 4), written once.
- ``helpers.wright_fisher``: every result that reading Fully Synthetic training as the
  Wright-Fisher model gives: token survival, collapse-time limits and bounds, the genealogy,
  Kingman's law.
- ``helpers.statmodel``: the vectorised recursive-training engine of the statistical model;
  ``helpers._kernels``: its compiled collapse-time kernel (parallel chains, one random stream
  each).
- ``helpers.rare_tokens``: first-loss times and the Feller survival of rare tokens.
- ``helpers.decoding``: decoding transforms (temperature, top-k, top-p) on numpy or torch.
- ``helpers.gpt``: the character-level transformer; ``helpers.train``: its training loop
  (checkpoints, resume, DDP); ``helpers.generation``: text and next-token distributions from it.
- ``helpers.ensemble``: several independent transformers trained at once (``torch.func``).
- ``helpers.timing``: FLOP counts, measured and assumed speeds, expected times of a chapter.
- ``helpers.experiments``: recursive training of the transformer, resumable run folders.
- ``helpers.results``: committed result files with their provenance.
- ``helpers.atomic``: the one atomic file writer (temporary file, fsync, rename) that every
  checkpoint, array, model and JSON result goes through.
- ``helpers.agreement``: the chapters' statistical check, "the simulation agrees with the
  formula within k standard errors" (``agree``), with its one-sided and paired variants and
  the exact binomial test.
- ``helpers.assignments``: the checkers of the self-checking assignments (``Correct``, ``Not
  answered yet`` or ``WrongAnswer`` with a hint).
- ``helpers._validate``: the argument checks every module shares (``TypeError`` for a value of
  the wrong kind, ``ValueError`` for one out of range).

Each function has one import path: no module re-exports another's functions.

Modules are imported on demand (``from helpers import data``), so importing ``helpers``
costs nothing and never touches torch or the network.
"""

__version__ = "0.1.0"
